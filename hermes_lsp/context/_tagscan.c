/*
 * The index's tags pass in C: parse a file, run the scan query, and turn the captures into
 * definitions (with summaries), references and imports, with one Python object per result
 * instead of one per captured node.
 *
 * It computes exactly what hermes_lsp/context/tags.py computes from a tree (that module is
 * the reference and the fallback; tests compare the two on real trees of every language):
 * read tags.py first, the steps below follow its functions one by one. Parsing and the
 * query run without the GIL; the results are built with it.
 *
 * It links its own copy of the tree-sitter runtime, the version the Python binding is
 * pinned to, so that grammars (language pointers from the grammar packages' capsules)
 * are read by the same code.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tree_sitter/api.h"

#define SHORT_BODY_LINES 10
#define MAX_LINE_CHARS 160
#define MAX_MEMBERS 12

enum role { R_IGNORE, R_DEF, R_DEFNAME, R_NAME, R_SCOPE, R_IMPORT };

/* -- growable arrays -------------------------------------------------------------------- */

#define VEC(T) struct { T *at; size_t len, cap; }
#define VEC_PUSH(v, item)                                                                    \
    (((v).len < (v).cap || vec_grow((void **)&(v).at, &(v).cap, sizeof(*(v).at)))          \
         ? ((v).at[(v).len++] = (item), 1)                                                   \
         : 0)

/* qsort, which must not be given the NULL of an empty array */
static void sort(void *base, size_t count, size_t size, int (*compare)(const void *, const void *)) {
    if (count > 1) qsort(base, count, size, compare);
}

static int vec_grow(void **at, size_t *cap, size_t size) {
    size_t wanted = *cap ? *cap * 2 : 64;
    void *grown = realloc(*at, wanted * size);
    if (grown == NULL) return 0;
    *at = grown;
    *cap = wanted;
    return 1;
}

typedef struct {
    uint32_t start, end, row, last, capture, order;
} DefNode;
typedef struct {
    uint32_t start, end;
} Span;
typedef struct {
    uint32_t start, end, row;
} NameNode;
typedef struct {
    uint32_t row, last;
} Rows;

typedef struct {
    VEC(DefNode) defs;
    VEC(Span) def_names;
    VEC(NameNode) names;
    VEC(Span) scopes;
    VEC(Rows) imports;
    uint32_t *first_seen; /* per capture id: order of its first capture, or UINT32_MAX */
    uint32_t seen;
} Captured;

static void captured_free(Captured *c) {
    free(c->defs.at);
    free(c->def_names.at);
    free(c->names.at);
    free(c->scopes.at);
    free(c->imports.at);
    free(c->first_seen);
}

/* -- predicates ------------------------------------------------------------------------- */

/* #eq? / #not-eq? / #any-of? / #not-any-of? with a capture and strings: the only ones our
 * queries use. A query with any other predicate is refused (tags.py then serves it). */
typedef struct {
    uint32_t capture;
    int negate;
    uint32_t count;
    const char **values;
    uint32_t *lengths;
} Predicate;

typedef struct {
    uint32_t count;
    Predicate *at;
} Predicates;

/* -- the scanner ------------------------------------------------------------------------ */

typedef struct {
    PyObject_HEAD
    PyObject *capsule; /* keeps the grammar's language alive */
    TSParser *parser;
    TSQuery *query;
    TSQueryCursor *cursor;
    uint32_t captures;
    uint8_t *role;
    PyObject **kind;     /* per definition capture: its kind ("function", ...) */
    uint8_t *weak;       /* per capture: constant or variable, beaten by any other kind */
    uint32_t patterns;
    Predicates *predicates;
    int busy;
} Scanner;

static PyObject *DEFINITION = NULL; /* the tuple type results are made of */
static PyObject *METHOD = NULL;
static PyObject *FUNCTION = NULL;
static PyObject *ELLIPSIS = NULL;

static int is_container(PyObject *kind) {
    static const char *names[] = {"class", "interface", "module", "impl", "enum"};
    for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
        if (PyUnicode_CompareWithASCIIString(kind, names[i]) == 0) return 1;
    return 0;
}

static void scanner_dealloc(Scanner *self) {
    if (self->predicates) {
        for (uint32_t p = 0; p < self->patterns; p++) {
            for (uint32_t i = 0; i < self->predicates[p].count; i++) {
                free(self->predicates[p].at[i].values);
                free(self->predicates[p].at[i].lengths);
            }
            free(self->predicates[p].at);
        }
        free(self->predicates);
    }
    if (self->kind) {
        for (uint32_t i = 0; i < self->captures; i++) Py_XDECREF(self->kind[i]);
        free(self->kind);
    }
    free(self->role);
    free(self->weak);
    if (self->cursor) ts_query_cursor_delete(self->cursor);
    if (self->query) ts_query_delete(self->query);
    if (self->parser) ts_parser_delete(self->parser);
    Py_XDECREF(self->capsule);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int read_predicates(Scanner *self) {
    self->patterns = ts_query_pattern_count(self->query);
    self->predicates = calloc(self->patterns ? self->patterns : 1, sizeof(Predicates));
    if (self->predicates == NULL) return -1;
    for (uint32_t p = 0; p < self->patterns; p++) {
        uint32_t steps;
        const TSQueryPredicateStep *step = ts_query_predicates_for_pattern(self->query, p, &steps);
        uint32_t at = 0;
        while (at < steps) {
            uint32_t end = at;
            while (end < steps && step[end].type != TSQueryPredicateStepTypeDone) end++;
            /* step[at]: the operator; then a capture; then strings. */
            uint32_t length;
            if (end - at < 3 || step[at].type != TSQueryPredicateStepTypeString ||
                step[at + 1].type != TSQueryPredicateStepTypeCapture) {
                PyErr_SetString(PyExc_ValueError, "unsupported predicate shape");
                return -1;
            }
            const char *op = ts_query_string_value_for_id(self->query, step[at].value_id, &length);
            Predicate pred = {.capture = step[at + 1].value_id};
            int any = 0;
            if (strcmp(op, "eq?") == 0) {
            } else if (strcmp(op, "not-eq?") == 0) {
                pred.negate = 1;
            } else if (strcmp(op, "any-of?") == 0) {
                any = 1;
            } else if (strcmp(op, "not-any-of?") == 0) {
                any = 1;
                pred.negate = 1;
            } else {
                PyErr_Format(PyExc_ValueError, "unsupported predicate #%s", op);
                return -1;
            }
            pred.count = end - at - 2;
            if (!any && pred.count != 1) {
                PyErr_SetString(PyExc_ValueError, "#eq? takes one value");
                return -1;
            }
            pred.values = calloc(pred.count, sizeof(char *));
            pred.lengths = calloc(pred.count, sizeof(uint32_t));
            if (pred.values == NULL || pred.lengths == NULL) {
                free(pred.values);
                free(pred.lengths);
                PyErr_NoMemory();
                return -1;
            }
            for (uint32_t i = 0; i < pred.count; i++) {
                if (step[at + 2 + i].type != TSQueryPredicateStepTypeString) {
                    free(pred.values);
                    free(pred.lengths);
                    PyErr_SetString(PyExc_ValueError, "predicate compares two captures");
                    return -1;
                }
                pred.values[i] = ts_query_string_value_for_id(self->query, step[at + 2 + i].value_id,
                                                              &pred.lengths[i]);
            }
            Predicates *list = &self->predicates[p];
            Predicate *grown = realloc(list->at, (list->count + 1) * sizeof(Predicate));
            if (grown == NULL) {
                free(pred.values);
                free(pred.lengths);
                PyErr_NoMemory();
                return -1;
            }
            list->at = grown;
            list->at[list->count++] = pred;
            at = end + 1;
        }
    }
    return 0;
}

static int scanner_init(Scanner *self, PyObject *args, PyObject *kwargs) {
    static char *keywords[] = {"language", "query", NULL};
    PyObject *capsule;
    const char *source;
    Py_ssize_t source_length;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "Os#", keywords, &capsule, &source, &source_length))
        return -1;
    const TSLanguage *language = PyCapsule_GetPointer(capsule, "tree_sitter.Language");
    if (language == NULL) return -1;
    if (self->parser != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "a Scanner is initialised once");
        return -1;
    }
    Py_INCREF(capsule);
    self->capsule = capsule;
    self->parser = ts_parser_new();
    if (self->parser == NULL || !ts_parser_set_language(self->parser, language)) {
        PyErr_SetString(PyExc_ValueError, "the grammar's ABI is not this runtime's");
        return -1;
    }
    uint32_t error_offset;
    TSQueryError error;
    self->query = ts_query_new(language, source, (uint32_t)source_length, &error_offset, &error);
    if (self->query == NULL) {
        PyErr_Format(PyExc_ValueError, "query error %d at byte %u", (int)error, error_offset);
        return -1;
    }
    self->cursor = ts_query_cursor_new();
    self->captures = ts_query_capture_count(self->query);
    size_t n = self->captures ? self->captures : 1;
    self->role = calloc(n, 1);
    self->weak = calloc(n, 1);
    self->kind = calloc(n, sizeof(PyObject *));
    if (self->cursor == NULL || self->role == NULL || self->weak == NULL || self->kind == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (uint32_t i = 0; i < self->captures; i++) {
        uint32_t length;
        const char *name = ts_query_capture_name_for_id(self->query, i, &length);
        if (length > 11 && strncmp(name, "definition.", 11) == 0) {
            self->role[i] = R_DEF;
            self->kind[i] = PyUnicode_FromStringAndSize(name + 11, length - 11);
            if (self->kind[i] == NULL) return -1;
            PyUnicode_InternInPlace(&self->kind[i]);
            self->weak[i] = strcmp(name + 11, "constant") == 0 || strcmp(name + 11, "variable") == 0;
        } else if (strcmp(name, "definition_name") == 0) {
            self->role[i] = R_DEFNAME;
        } else if (strcmp(name, "name") == 0) {
            self->role[i] = R_NAME;
        } else if (strcmp(name, "scope") == 0) {
            self->role[i] = R_SCOPE;
        } else if (strcmp(name, "import") == 0) {
            self->role[i] = R_IMPORT;
        }
    }
    return read_predicates(self);
}

/* -- step 1: parse and capture (no Python objects, no GIL) ------------------------------- */

static uint32_t last_row(TSNode node) {
    TSPoint end = ts_node_end_point(node);
    TSPoint start = ts_node_start_point(node);
    return (end.column == 0 && end.row > start.row) ? end.row - 1 : end.row;
}

static int satisfied(const Scanner *self, const TSQueryMatch *match, const char *data) {
    const Predicates *list = &self->predicates[match->pattern_index];
    for (uint32_t p = 0; p < list->count; p++) {
        const Predicate *pred = &list->at[p];
        for (uint16_t c = 0; c < match->capture_count; c++) {
            if (match->captures[c].index != pred->capture) continue;
            TSNode node = match->captures[c].node;
            uint32_t start = ts_node_start_byte(node), length = ts_node_end_byte(node) - start;
            int found = 0;
            for (uint32_t v = 0; v < pred->count && !found; v++)
                found = pred->lengths[v] == length && memcmp(pred->values[v], data + start, length) == 0;
            if (found == pred->negate) return 0;
        }
    }
    return 1;
}

/* Keeps one capture's node in the list its role reads; 0 when out of memory. */
static int keep(Captured *out, uint8_t role, TSQueryCapture cap, uint32_t length) {
    TSNode node = cap.node;
    uint32_t start = ts_node_start_byte(node), end = ts_node_end_byte(node);
    if (end < start || end > length) return 1; /* never: nodes lie in the text */
    if (role == R_DEF) {
        DefNode d = {start, end, ts_node_start_point(node).row, last_row(node), cap.index, (uint32_t)out->defs.len};
        return VEC_PUSH(out->defs, d);
    }
    if (role == R_NAME) {
        NameNode n = {start, end, ts_node_start_point(node).row};
        return VEC_PUSH(out->names, n);
    }
    if (role == R_IMPORT) {
        Rows r = {ts_node_start_point(node).row, last_row(node)};
        return VEC_PUSH(out->imports, r);
    }
    Span s = {start, end};
    return role == R_DEFNAME ? VEC_PUSH(out->def_names, s) : VEC_PUSH(out->scopes, s);
}

/* Parses and runs the query: 0 on success, -1 when out of memory, -2 when the parser gave up. */
static int capture(Scanner *self, const char *data, uint32_t length, Captured *out) {
    TSTree *tree = ts_parser_parse_string(self->parser, NULL, data, length);
    if (tree == NULL) return -2;
    int ok = 1;
    ts_query_cursor_exec(self->cursor, self->query, ts_tree_root_node(tree));
    TSQueryMatch match;
    while (ok && ts_query_cursor_next_match(self->cursor, &match)) {
        if (self->predicates[match.pattern_index].count && !satisfied(self, &match, data)) continue;
        for (uint16_t index = 0; ok && index < match.capture_count; index++) {
            TSQueryCapture cap = match.captures[index];
            uint8_t role = self->role[cap.index];
            if (role == R_IGNORE) continue;
            if (out->first_seen[cap.index] == UINT32_MAX) out->first_seen[cap.index] = out->seen++;
            ok = keep(out, role, cap, length);
        }
    }
    ts_tree_delete(tree);
    return ok ? 0 : -1;
}

/* -- step 2: pair definitions with their names (tags._named) ---------------------------- */

static const uint32_t *FIRST_SEEN; /* qsort has no context argument: set under the GIL */

static int by_span_then_capture(const void *a, const void *b) {
    const DefNode *x = a, *y = b;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    if (x->end != y->end) return x->end > y->end ? -1 : 1; /* outer first */
    uint32_t cx = FIRST_SEEN[x->capture], cy = FIRST_SEEN[y->capture];
    if (cx != cy) return cx < cy ? -1 : 1;
    return x->order < y->order ? -1 : (x->order > y->order);
}

static int by_key(const void *a, const void *b) {
    /* (start << 32 | capture order): by start, then in the order they were captured */
    const uint64_t *x = a, *y = b;
    return *x < *y ? -1 : (*x > *y);
}

typedef struct {
    uint32_t start, end, row, last; /* the definition */
    uint32_t name_start, name_end;
    uint32_t capture;
    int32_t scope; /* index into the scopes, or -1 */
} Found;

/* -- step 3: summaries (tags.summarize), on the file's lines ---------------------------- */

typedef struct {
    const char *data;
    uint32_t *starts; /* byte offset of each line */
    uint32_t count;
    uint32_t length;
    PyObject **decoded; /* each line as str, made when first needed */
} Lines;

static uint32_t line_end(const Lines *lines, uint32_t row) {
    return row + 1 < lines->count ? lines->starts[row + 1] - 1 : lines->length;
}

static PyObject *line_str(Lines *lines, uint32_t row) {
    if (lines->decoded[row] == NULL) {
        uint32_t start = lines->starts[row];
        lines->decoded[row] = PyUnicode_DecodeUTF8(lines->data + start, line_end(lines, row) - start, "replace");
    }
    return lines->decoded[row];
}

static int is_space(Py_UCS4 c) { return Py_UNICODE_ISSPACE(c); }

static Py_ssize_t leading_space(PyObject *s) {
    Py_ssize_t n = PyUnicode_GET_LENGTH(s), i = 0;
    int kind = PyUnicode_KIND(s);
    const void *d = PyUnicode_DATA(s);
    while (i < n && is_space(PyUnicode_READ(kind, d, i))) i++;
    return i;
}

static int blank(PyObject *s) { return leading_space(s) == PyUnicode_GET_LENGTH(s); }

/* line.rstrip().endswith(_HEADER_ENDS) */
static int ends_header(PyObject *s) {
    static const char *ends[] = {":", "{", "=>", "->", " do", " then", "="};
    Py_ssize_t n = PyUnicode_GET_LENGTH(s);
    int kind = PyUnicode_KIND(s);
    const void *d = PyUnicode_DATA(s);
    while (n > 0 && is_space(PyUnicode_READ(kind, d, n - 1))) n--;
    for (size_t e = 0; e < sizeof(ends) / sizeof(*ends); e++) {
        Py_ssize_t m = (Py_ssize_t)strlen(ends[e]);
        if (m > n) continue;
        Py_ssize_t i = 0;
        while (i < m && PyUnicode_READ(kind, d, n - m + i) == (Py_UCS4)(unsigned char)ends[e][i]) i++;
        if (i == m) return 1;
    }
    return 0;
}

static int header_end(Lines *lines, uint32_t start, uint32_t end, uint32_t *out) {
    uint32_t last = end < start + 5 ? end : start + 5;
    for (uint32_t row = start; row <= last && row < lines->count; row++) {
        PyObject *s = line_str(lines, row);
        if (s == NULL) return -1;
        if (ends_header(s)) {
            *out = row;
            return 0;
        }
    }
    *out = start;
    return 0;
}

/* Appends _clip(line) to ``out``. */
static int append_clipped(PyObject *out, PyObject *line) {
    if (PyUnicode_GET_LENGTH(line) <= MAX_LINE_CHARS) return PyList_Append(out, line);
    PyObject *head = PyUnicode_Substring(line, 0, MAX_LINE_CHARS - 3);
    if (head == NULL) return -1;
    PyObject *clipped = PyUnicode_Concat(head, ELLIPSIS);
    Py_DECREF(head);
    if (clipped == NULL) return -1;
    int result = PyList_Append(out, clipped);
    Py_DECREF(clipped);
    return result;
}

static int append_rows(Lines *lines, PyObject *out, uint32_t start, uint32_t end) {
    for (uint32_t row = start; row <= end && row < lines->count; row++) {
        PyObject *s = line_str(lines, row);
        if (s == NULL || append_clipped(out, s) < 0) return -1;
    }
    return 0;
}

static PyObject *joined(PyObject *parts) {
    PyObject *newline = PyUnicode_FromString("\n");
    if (newline == NULL) return NULL;
    PyObject *text = PyUnicode_Join(newline, parts);
    Py_DECREF(newline);
    return text;
}

static PyObject *summarize(Lines *lines, uint32_t start, uint32_t end, const uint32_t *members,
                           uint32_t member_count, int container) {
    if (start >= lines->count) return PyUnicode_FromString("");
    if (end >= lines->count) end = lines->count - 1;
    if (end < start) end = start;
    if (end - start + 1 <= SHORT_BODY_LINES) {
        /* Short lines (in bytes, so in characters too) need no clipping: the text is one
         * slice of the file. */
        int short_lines = 1;
        for (uint32_t row = start; row <= end && short_lines; row++)
            short_lines = line_end(lines, row) - lines->starts[row] <= MAX_LINE_CHARS;
        if (short_lines) {
            uint32_t from = lines->starts[start];
            return PyUnicode_DecodeUTF8(lines->data + from, line_end(lines, end) - from, "replace");
        }
        PyObject *out = PyList_New(0);
        if (out == NULL || append_rows(lines, out, start, end) < 0) {
            Py_XDECREF(out);
            return NULL;
        }
        PyObject *text = joined(out);
        Py_DECREF(out);
        return text;
    }
    uint32_t head;
    PyObject *out = PyList_New(0);
    if (out == NULL) return NULL;
    if (header_end(lines, start, end, &head) < 0 || append_rows(lines, out, start, head) < 0) goto fail;
    /* body: rows head+1 .. end */
    PyObject *indent = NULL; /* the first line with text, borrowed from the lines */
    Py_ssize_t indent_length = 0;
    int64_t first = -1;
    for (uint32_t row = head + 1; row <= end; row++) {
        PyObject *s = line_str(lines, row);
        if (s == NULL) goto fail;
        if (!blank(s)) {
            indent = s;
            indent_length = leading_space(s);
            first = row;
            break;
        }
    }
    PyObject *dots = indent == NULL ? PyUnicode_FromString("    ...") : NULL;
    if (indent != NULL) {
        PyObject *prefix = PyUnicode_Substring(indent, 0, indent_length);
        if (prefix == NULL) goto fail;
        PyObject *three = PyUnicode_FromString("...");
        dots = three ? PyUnicode_Concat(prefix, three) : NULL;
        Py_DECREF(prefix);
        Py_XDECREF(three);
    }
    if (dots == NULL) goto fail;
    if (container && member_count) {
        /* the docstring's first line says what the class is */
        uint32_t row = first >= 0 ? (uint32_t)first : head + 1;
        if (row <= end && row < lines->count) {
            PyObject *s = line_str(lines, row);
            if (s == NULL) goto fail_dots;
            Py_ssize_t lead = leading_space(s), n = PyUnicode_GET_LENGTH(s);
            if (n - lead >= 3) {
                PyObject *three = PyUnicode_Substring(s, lead, lead + 3);
                if (three == NULL) goto fail_dots;
                int doc = PyUnicode_CompareWithASCIIString(three, "\"\"\"") == 0 ||
                          PyUnicode_CompareWithASCIIString(three, "'''") == 0 ||
                          PyUnicode_CompareWithASCIIString(three, "///") == 0 ||
                          PyUnicode_CompareWithASCIIString(three, "/**") == 0;
                Py_DECREF(three);
                if (doc && append_clipped(out, s) < 0) goto fail_dots;
            }
        }
        for (uint32_t m = 0; m < member_count && m < MAX_MEMBERS; m++) {
            uint32_t member_head;
            if (header_end(lines, members[m], end, &member_head) < 0 ||
                append_rows(lines, out, members[m], member_head) < 0)
                goto fail_dots;
        }
        if (member_count > MAX_MEMBERS && PyList_Append(out, dots) < 0) goto fail_dots;
    } else {
        int taken = 0;
        for (uint32_t row = head + 1; row <= end && row < lines->count && taken < 3; row++) {
            PyObject *s = line_str(lines, row);
            if (s == NULL || append_clipped(out, s) < 0) goto fail_dots;
            taken += !blank(s);
        }
        if (PyList_Append(out, dots) < 0) goto fail_dots;
    }
    Py_DECREF(dots);
    PyObject *text = joined(out);
    Py_DECREF(out);
    return text;
fail_dots:
    Py_DECREF(dots);
fail:
    Py_DECREF(out);
    return NULL;
}

/* -- step 4: uses, grouped by their bytes (tags._uses) ---------------------------------- */

typedef struct {
    uint32_t start, end; /* the first occurrence's bytes */
    VEC(uint32_t) rows;
} Word;

static uint64_t hash_bytes(const char *p, uint32_t n) {
    uint64_t h = 1469598103934665603ULL;
    for (uint32_t i = 0; i < n; i++) h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
    return h;
}

/* n in decimal at out (no terminator); its length */
static size_t write_number(char *out, unsigned long n) {
    char digits[20];
    size_t count = 0;
    do {
        digits[count++] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    for (size_t i = 0; i < count; i++) out[i] = digits[count - 1 - i];
    return count;
}

static int by_row(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : (x > y);
}

static PyObject *uses(const char *data, const NameNode *names, size_t count, const uint8_t *claimed_at,
                      uint32_t length) {
    PyObject *result = PyDict_New();
    if (result == NULL) return NULL;
    size_t slots = 64;
    while (slots < count * 2) slots *= 2;
    int64_t *table = malloc(slots * sizeof(int64_t));
    Word *words = NULL;
    size_t word_count = 0, word_cap = 0, text_cap = 0;
    char *text = NULL;
    if (table == NULL) goto nomem;
    for (size_t i = 0; i < slots; i++) table[i] = -1;
    for (size_t i = 0; i < count; i++) {
        const NameNode *n = &names[i];
        if (claimed_at[n->start]) continue; /* a definition's own name */
        uint32_t size = n->end - n->start;
        size_t slot = hash_bytes(data + n->start, size) & (slots - 1);
        while (table[slot] >= 0) {
            Word *w = &words[table[slot]];
            if (w->end - w->start == size && memcmp(data + w->start, data + n->start, size) == 0) break;
            slot = (slot + 1) & (slots - 1);
        }
        if (table[slot] < 0) {
            if (word_count == word_cap) {
                size_t wanted = word_cap ? word_cap * 2 : 64;
                Word *grown = realloc(words, wanted * sizeof(Word));
                if (grown == NULL) goto nomem;
                words = grown;
                word_cap = wanted;
            }
            words[word_count] = (Word){n->start, n->end, {NULL, 0, 0}};
            table[slot] = (int64_t)word_count++;
        }
        if (!VEC_PUSH(words[table[slot]].rows, n->row)) goto nomem;
    }
    for (size_t i = 0; i < word_count; i++) {
        Word *w = &words[i];
        sort(w->rows.at, w->rows.len, sizeof(uint32_t), by_row);
        size_t distinct = 0;
        for (size_t r = 0; r < w->rows.len; r++)
            if (r == 0 || w->rows.at[r] != w->rows.at[r - 1]) w->rows.at[distinct++] = w->rows.at[r];
        /* "3,17,20": at most 10 digits and a comma per line */
        if (distinct * 11 > text_cap) {
            size_t wanted = distinct * 11;
            char *grown = realloc(text, wanted);
            if (grown == NULL) goto nomem;
            text = grown;
            text_cap = wanted;
        }
        size_t at = 0;
        for (size_t r = 0; r < distinct; r++) {
            if (r) text[at++] = ',';
            at += write_number(text + at, w->rows.at[r] + 1UL);
        }
        PyObject *lines = PyUnicode_FromStringAndSize(text, (Py_ssize_t)at);
        PyObject *key = PyUnicode_DecodeUTF8(data + w->start, w->end - w->start, "replace");
        if (lines == NULL || key == NULL) {
            Py_XDECREF(lines);
            Py_XDECREF(key);
            goto error;
        }
        int failed = PyDict_SetItem(result, key, lines) < 0;
        Py_DECREF(lines);
        Py_DECREF(key);
        if (failed) goto error;
    }
    for (size_t i = 0; i < word_count; i++) free(words[i].rows.at);
    free(words);
    free(table);
    free(text);
    return result;
nomem:
    PyErr_NoMemory();
error:
    for (size_t i = 0; i < word_count; i++) free(words[i].rows.at);
    free(words);
    free(table);
    free(text);
    Py_DECREF(result);
    return NULL;
}

/* -- the whole pass --------------------------------------------------------------------- */

static int by_start(const void *a, const void *b) {
    const Span *x = a, *y = b;
    return x->start < y->start ? -1 : (x->start > y->start);
}

static PyObject *make_definition(PyObject *name, PyObject *qualname, PyObject *kind, uint32_t start,
                                 uint32_t end, PyObject *summary) {
    PyTypeObject *type = (PyTypeObject *)DEFINITION;
    PyObject *item = type->tp_alloc(type, 6);
    if (item == NULL) return NULL;
    PyObject *first = PyLong_FromUnsignedLong(start + 1UL), *last = PyLong_FromUnsignedLong(end + 1UL);
    if (first == NULL || last == NULL) {
        Py_XDECREF(first);
        Py_XDECREF(last);
        Py_DECREF(item);
        return NULL;
    }
    Py_INCREF(name);
    Py_INCREF(qualname);
    Py_INCREF(kind);
    Py_INCREF(summary);
    PyTuple_SET_ITEM(item, 0, name);
    PyTuple_SET_ITEM(item, 1, qualname);
    PyTuple_SET_ITEM(item, 2, kind);
    PyTuple_SET_ITEM(item, 3, first);
    PyTuple_SET_ITEM(item, 4, last);
    PyTuple_SET_ITEM(item, 5, summary);
    return item;
}

typedef struct {
    uint32_t end;
    PyObject *qualname; /* borrowed from the definitions' list */
    PyObject *kind;
    uint32_t index; /* into the found definitions: where its member rows go */
} Open;

static PyObject *definitions(Scanner *self, const char *data, uint32_t length, Captured *c,
                             uint8_t *claimed_at) {
    PyObject *result = PyList_New(0);
    if (result == NULL || c->defs.len == 0) return result;

    /* Spans outer first; for one span the first capture name seen wins, unless it is a weak
     * kind (constant, variable) and another follows. */
    FIRST_SEEN = c->first_seen;
    sort(c->defs.at, c->defs.len, sizeof(DefNode), by_span_then_capture);
    size_t spans = 0;
    for (size_t i = 0; i < c->defs.len; i++) {
        DefNode *d = &c->defs.at[i];
        if (spans && c->defs.at[spans - 1].start == d->start && c->defs.at[spans - 1].end == d->end) {
            if (self->weak[c->defs.at[spans - 1].capture]) c->defs.at[spans - 1] = *d;
            continue;
        }
        c->defs.at[spans++] = *d;
    }
    /* Definition names by start (of two captures at one start, the last one seen). */
    uint64_t *keyed = malloc((c->def_names.len ? c->def_names.len : 1) * sizeof(uint64_t));
    Span *names = malloc((c->def_names.len ? c->def_names.len : 1) * sizeof(Span));
    Found *found = malloc(spans * sizeof(Found));
    PyObject **name_objs = calloc(spans, sizeof(PyObject *));
    uint32_t *member_rows = NULL;
    uint32_t *member_counts = calloc(spans, sizeof(uint32_t)), *member_first = calloc(spans, sizeof(uint32_t));
    Open *stack = malloc(spans * sizeof(Open));
    PyObject **qualnames = calloc(spans, sizeof(PyObject *));
    PyObject **kinds = calloc(spans, sizeof(PyObject *));
    uint32_t *owners = malloc(spans * sizeof(uint32_t));
    size_t name_count = 0, found_count = 0;
    Lines lines = {data, NULL, 0, length, NULL};
    if (!keyed || !names || !found || !name_objs || !member_counts || !member_first ||
        !stack || !qualnames || !kinds || !owners) {
        PyErr_NoMemory();
        goto done;
    }
    for (size_t i = 0; i < c->def_names.len; i++)
        keyed[i] = ((uint64_t)c->def_names.at[i].start << 32) | (uint32_t)i;
    sort(keyed, c->def_names.len, sizeof(uint64_t), by_key);
    for (size_t i = 0; i < c->def_names.len; i++) {
        Span s = c->def_names.at[keyed[i] & 0xffffffffu];
        if (name_count && names[name_count - 1].start == s.start)
            names[name_count - 1] = s;
        else
            names[name_count++] = s;
    }
    sort(c->scopes.at, c->scopes.len, sizeof(Span), by_start); /* ties: any order is Python's too */

    for (size_t i = 0; i < spans; i++) {
        DefNode *d = &c->defs.at[i];
        size_t lo = 0, hi = name_count;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (names[mid].start < d->start) lo = mid + 1; else hi = mid;
        }
        while (lo < name_count && claimed_at[names[lo].start]) lo++;
        if (lo == name_count) continue;
        Span name = names[lo];
        if (name.end > d->end) continue;
        int32_t scope = -1;
        size_t at = 0, top = c->scopes.len;
        while (at < top) {
            size_t mid = (at + top) / 2;
            if (c->scopes.at[mid].start < d->start) at = mid + 1; else top = mid;
        }
        for (; at < c->scopes.len && c->scopes.at[at].start < name.start; at++) {
            if (c->scopes.at[at].end <= name.start) {
                scope = (int32_t)at;
                break;
            }
        }
        claimed_at[name.start] = 1;
        found[found_count++] = (Found){d->start, d->end, d->row, d->last, name.start, name.end, d->capture, scope};
    }

    /* Qualified names and members from nesting (tags._definitions). */
    size_t depth = 0, members_total = 0;
    for (size_t i = 0; i < found_count; i++) {
        Found *f = &found[i];
        while (depth && stack[depth - 1].end <= f->start) depth--;
        Open *owner = depth ? &stack[depth - 1] : NULL;
        name_objs[i] = PyUnicode_DecodeUTF8(data + f->name_start, f->name_end - f->name_start, "replace");
        if (name_objs[i] == NULL) goto done;
        PyObject *kind = self->kind[f->capture];
        int in_container = owner != NULL && is_container(owner->kind);
        if (f->scope >= 0) {
            Span s = c->scopes.at[f->scope];
            PyObject *scope = PyUnicode_DecodeUTF8(data + s.start, s.end - s.start, "replace");
            if (scope == NULL) goto done;
            qualnames[i] = PyUnicode_FromFormat("%U.%U", scope, name_objs[i]);
            Py_DECREF(scope);
        } else if (in_container) {
            qualnames[i] = PyUnicode_FromFormat("%U.%U", owner->qualname, name_objs[i]);
        } else {
            qualnames[i] = Py_NewRef(name_objs[i]);
        }
        if (qualnames[i] == NULL) goto done;
        owners[i] = UINT32_MAX;
        if (in_container) {
            owners[i] = owner->index;
            member_counts[owner->index]++;
            members_total++;
            if (PyUnicode_Compare(kind, FUNCTION) == 0) kind = METHOD;
        }
        kinds[i] = kind;
        stack[depth++] = (Open){f->end, qualnames[i], kind, (uint32_t)i};
    }
    /* Member rows per owner, in order (a child always comes after its owner). */
    member_rows = malloc((members_total ? members_total : 1) * sizeof(uint32_t));
    if (member_rows == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    {
        uint32_t next = 0;
        for (size_t i = 0; i < found_count; i++) {
            member_first[i] = next;
            next += member_counts[i];
            member_counts[i] = 0;
        }
        for (size_t i = 0; i < found_count; i++)
            if (owners[i] != UINT32_MAX)
                member_rows[member_first[owners[i]] + member_counts[owners[i]]++] = found[i].row;
    }

    /* The file's lines, for the summaries. */
    uint32_t newlines = 0;
    for (const char *p = data; (p = memchr(p, '\n', (size_t)(data + length - p))) != NULL; p++) newlines++;
    lines.count = newlines + 1;
    lines.starts = malloc(lines.count * sizeof(uint32_t));
    lines.decoded = calloc(lines.count, sizeof(PyObject *));
    if (lines.starts == NULL || lines.decoded == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    {
        uint32_t row = 0;
        lines.starts[row++] = 0;
        for (uint32_t at = 0; at < length; at++)
            if (data[at] == '\n') lines.starts[row++] = at + 1;
    }
    for (size_t i = 0; i < found_count; i++) {
        Found *f = &found[i];
        PyObject *summary = summarize(&lines, f->row, f->last, member_rows + member_first[i], member_counts[i],
                                      is_container(kinds[i]));
        if (summary == NULL) goto done;
        PyObject *item = make_definition(name_objs[i], qualnames[i], kinds[i], f->row, f->last, summary);
        Py_DECREF(summary);
        if (item == NULL || PyList_Append(result, item) < 0) {
            Py_XDECREF(item);
            goto done;
        }
        Py_DECREF(item);
    }
done:
    if (name_objs)
        for (size_t i = 0; i < spans; i++) Py_XDECREF(name_objs[i]);
    if (qualnames)
        for (size_t i = 0; i < spans; i++) Py_XDECREF(qualnames[i]);
    if (lines.decoded)
        for (uint32_t i = 0; i < lines.count; i++) Py_XDECREF(lines.decoded[i]);
    free(lines.starts);
    free(lines.decoded);
    free(keyed);
    free(names);
    free(found);
    free(name_objs);
    free(member_rows);
    free(member_counts);
    free(member_first);
    free(stack);
    free(qualnames);
    free(kinds);
    free(owners);
    if (PyErr_Occurred()) {
        Py_XDECREF(result);
        return NULL;
    }
    return result;
}

static int by_rows(const void *a, const void *b) {
    const Rows *x = a, *y = b;
    if (x->row != y->row) return x->row < y->row ? -1 : 1;
    return x->last < y->last ? -1 : (x->last > y->last);
}

static PyObject *imports(Captured *c) {
    sort(c->imports.at, c->imports.len, sizeof(Rows), by_rows);
    PyObject *result = PyList_New(0);
    for (size_t i = 0; result != NULL && i < c->imports.len; i++) {
        Rows r = c->imports.at[i];
        if (i && r.row == c->imports.at[i - 1].row && r.last == c->imports.at[i - 1].last) continue;
        PyObject *pair = Py_BuildValue("(kk)", r.row + 1UL, r.last + 1UL);
        if (pair == NULL || PyList_Append(result, pair) < 0) Py_CLEAR(result);
        Py_XDECREF(pair);
    }
    return result;
}

static PyObject *scanner_tags(Scanner *self, PyObject *arg) {
    Py_buffer view;
    if (DEFINITION == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "set_definition_type() first");
        return NULL;
    }
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) return NULL;
    if (view.len > UINT32_MAX / 2) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "file too large to tag");
        return NULL;
    }
    if (self->busy) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_RuntimeError, "a Scanner serves one thread at a time");
        return NULL;
    }
    self->busy = 1;
    const char *data = view.buf;
    uint32_t length = (uint32_t)view.len;
    Captured c = {0};
    PyObject *defs = NULL, *refs = NULL, *imps = NULL, *result = NULL;
    uint8_t *claimed_at = calloc(length + 1, 1);
    c.first_seen = malloc((self->captures ? self->captures : 1) * sizeof(uint32_t));
    if (claimed_at == NULL || c.first_seen == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (uint32_t i = 0; i < self->captures; i++) c.first_seen[i] = UINT32_MAX;
    int status = capture(self, data, length, &c);
    if (status == -1) {
        PyErr_NoMemory();
        goto done;
    }
    if (status == -2) {
        PyErr_SetString(PyExc_RuntimeError, "the parser gave up");
        goto done;
    }
    defs = definitions(self, data, length, &c, claimed_at);
    if (defs == NULL) goto done;
    refs = uses(data, c.names.at, c.names.len, claimed_at, length);
    if (refs == NULL) goto done;
    imps = imports(&c);
    if (imps == NULL) goto done;
    result = PyTuple_Pack(3, defs, refs, imps);
done:
    Py_XDECREF(defs);
    Py_XDECREF(refs);
    Py_XDECREF(imps);
    free(claimed_at);
    captured_free(&c);
    self->busy = 0;
    PyBuffer_Release(&view);
    return result;
}

static PyMethodDef scanner_methods[] = {
    {"tags", (PyCFunction)scanner_tags, METH_O,
     "tags(data) -> (definitions, references, imports) of one file's bytes."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ScannerType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "hermes_lsp.context._tagscan.Scanner",
    .tp_doc = "Scanner(language_capsule, query_source): the tags pass for one language.",
    .tp_basicsize = sizeof(Scanner),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)scanner_init,
    .tp_dealloc = (destructor)scanner_dealloc,
    .tp_methods = scanner_methods,
};

static PyObject *set_definition_type(PyObject *module, PyObject *type) {
    if (!PyType_Check(type) || !PyType_IsSubtype((PyTypeObject *)type, &PyTuple_Type)) {
        PyErr_SetString(PyExc_TypeError, "a tuple subclass of six fields");
        return NULL;
    }
    Py_XSETREF(DEFINITION, Py_NewRef(type));
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"set_definition_type", set_definition_type, METH_O,
     "The tuple type (name, qualname, kind, start_line, end_line, summary) to build definitions of."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_tagscan", "The index's tags pass in C (see tags.py).", -1, module_methods,
};

PyMODINIT_FUNC PyInit__tagscan(void) {
    /* Python's small-object allocator, as the tree-sitter binding does: a parse makes
     * thousands of small allocations, and pymalloc serves them about a third faster than
     * malloc. It needs the GIL, so the whole pass holds it (as the binding's parse does). */
    ts_set_allocator(PyMem_Malloc, PyMem_Calloc, PyMem_Realloc, PyMem_Free);
    if (PyType_Ready(&ScannerType) < 0) return NULL;
    METHOD = PyUnicode_InternFromString("method");
    FUNCTION = PyUnicode_InternFromString("function");
    ELLIPSIS = PyUnicode_InternFromString("...");
    if (METHOD == NULL || FUNCTION == NULL || ELLIPSIS == NULL) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    Py_INCREF(&ScannerType);
    if (PyModule_AddObject(m, "Scanner", (PyObject *)&ScannerType) < 0) {
        Py_DECREF(&ScannerType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
