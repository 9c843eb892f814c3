#include <stdlib.h>
#include "buffer.h"

struct buffer {
    char *data;
    size_t len;
};

static size_t grow(size_t len) {
    return len * 2 + 16;
}

struct buffer *buffer_new(void) {
    struct buffer *b = calloc(1, sizeof(struct buffer));
    b->data = malloc(grow(0));
    return b;
}
