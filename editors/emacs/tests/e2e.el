;;; e2e.el --- drive hermes-lsp.el in a real (batch) Emacs  -*- lexical-binding: t -*-

;;; Commentary:

;; Run by tests/test_editor_emacs.py:
;;   emacs -q --batch -l editors/emacs/hermes-lsp.el -l editors/emacs/tests/e2e.el
;; Environment: HERMES_E2E_FILE (the file to visit), HERMES_E2E_RESULT (JSON written at the
;; end), HERMES_E2E_SERVER (hermes-lsp executable), HERMES_E2E_ENDPOINT (model server URL),
;; HERMES_E2E_ACTION (kind of the code action to apply; empty: only attach),
;; HERMES_E2E_STATUS (the hermes/status state to wait for before going on),
;; HERMES_E2E_REFACTOR (an instruction for `hermes-lsp-refactor' on the whole buffer),
;; HERMES_E2E_FOREIGN_WORD and HERMES_E2E_FOREIGN_MESSAGE (a diagnostic that a Flymake backend
;; of its own reports on that word; HERMES_E2E_FOREIGN_COMMAND, default `eglot-code-actions', is
;; then run there as M-x would).
;; Every wait is bounded; errors are recorded in the JSON instead of hanging.

;;; Code:

(require 'json)
(require 'cl-lib)

(defvar e2e-results nil "An alist written as JSON at the end.")
(defvar e2e-prompts nil "Questions Emacs asked the user (answered yes).")

(defun e2e-put (key value)
  (setq e2e-results (cons (cons key value) (assq-delete-all key e2e-results))))

(defun e2e-wait (what seconds predicate)
  (let ((deadline (+ (float-time) seconds)) value)
    (while (and (not (setq value (funcall predicate))) (< (float-time) deadline))
      (accept-process-output nil 0.05))
    (or value (error "Timed out after %ss waiting for %s" seconds what))))

(defvar e2e-mode-lines nil "The mode line each time a command was sent to the server.")
(advice-add 'jsonrpc-request :before
            (lambda (_server method &rest _)
              (when (eq method :workspace/executeCommand)
                (push (substring-no-properties (hermes-lsp-mode-line)) e2e-mode-lines))))

;; A user would answer eglot's "apply this server-initiated edit?" question; say yes and
;; record that it was asked.
(advice-add 'y-or-n-p :override (lambda (prompt) (push prompt e2e-prompts) t))

(defun e2e-code-action (server kind)
  "List the code actions for the whole buffer, then apply the one of KIND as eglot does."
  (let ((actions (eglot-code-actions (point-min) (point-max) nil nil))
        (before (buffer-string)))
    (e2e-put 'listed (vconcat (mapcar (lambda (a)
                                        (list (cons 'title (plist-get a :title))
                                              (cons 'kind (plist-get a :kind))
                                              (cons 'command (plist-get (plist-get a :command) :command))
                                              (cons 'has-edit (and (plist-get a :edit) t))))
                                      actions)))
    (let ((chosen (cl-find kind actions :key (lambda (a) (plist-get a :kind)) :test #'equal)))
      (unless chosen (error "No %s code action was listed" kind))
      (e2e-put 'chosen (plist-get chosen :title))
      ;; Eglot's own path for a picked action: apply its edit and/or run its command.
      (eglot--read-execute-code-action (list chosen) server kind)
      (e2e-wait "the action's edit" 30 (lambda () (not (equal before (buffer-string)))))
      (e2e-put 'modified (buffer-modified-p)))))

(defun e2e-foreign-backend (report-fn &rest _)
  "A Flymake backend that is not eglot's, like flake8's or ruff's: one error on the word."
  (save-excursion
    (goto-char (point-min))
    (search-forward (getenv "HERMES_E2E_FOREIGN_WORD"))
    (funcall report-fn (list (flymake-make-diagnostic (current-buffer) (match-beginning 0) (match-end 0)
                                                      :error (getenv "HERMES_E2E_FOREIGN_MESSAGE"))))))

(defun e2e-foreign-fix ()
  "Report a diagnostic from another backend, then pick \"Hermes: fix\" in eglot's own menu."
  (add-hook 'flymake-diagnostic-functions #'e2e-foreign-backend nil t)
  (flymake-start)
  (e2e-wait "the other backend's diagnostic" 10
            (lambda () (cl-find (getenv "HERMES_E2E_FOREIGN_MESSAGE") (flymake-diagnostics (point-min) (point-max))
                                :key #'flymake-diagnostic-text :test #'equal)))
  (goto-char (point-min))
  (search-forward (getenv "HERMES_E2E_FOREIGN_WORD"))
  (goto-char (match-beginning 0))
  (let ((before (buffer-string)) (menu nil))
    (cl-letf (((symbol-function 'completing-read)
               (lambda (_prompt items &rest _)
                 (setq menu (mapcar #'car items))
                 (cl-find "Hermes: fix" menu :test (lambda (want title) (string-prefix-p want title))))))
      ;; A key press, not a mouse click: eglot asks with completing-read.
      (let ((last-nonmenu-event ?\r))
        (call-interactively (intern (or (getenv "HERMES_E2E_FOREIGN_COMMAND") "eglot-code-actions")))))
    (e2e-put 'menu (vconcat menu))
    (e2e-wait "the fix's edit" 30 (lambda () (not (equal before (buffer-string)))))))

(defun e2e-keys (keys)
  "Type KEYS as a user would: through the command loop, hooks included."
  (execute-kbd-macro (kbd keys)))

(defun e2e-ghost ()
  "Ghost text: shown after a pause, cycled, accepted a word at a time, then wholly."
  (goto-char (point-min))
  (end-of-line)
  (e2e-keys "RET")
  (e2e-put 'mode-line-fetching
           (substring-no-properties
            (e2e-wait "the spinner" 5 (lambda () (and (hermes-lsp-ghost-busy-p) (hermes-lsp-mode-line))))))
  (e2e-put 'first (e2e-wait "ghost text" 10 #'hermes-lsp-ghost-current))
  (e2e-put 'face (get-text-property 0 'face (overlay-get hermes-lsp-ghost--overlay 'after-string)))
  (e2e-put 'overlay-at-point (= (overlay-start hermes-lsp-ghost--overlay) (point)))
  (e2e-put 'mode-line-shown (substring-no-properties (hermes-lsp-mode-line)))
  (e2e-keys "M-]")
  (e2e-put 'second (e2e-wait "another suggestion" 10
                             (lambda () (let ((now (hermes-lsp-ghost-current)))
                                          (and now (not (equal now (cdr (assq 'first e2e-results)))) now)))))
  (e2e-put 'count (length hermes-lsp-ghost--texts))
  (e2e-keys "M-[")
  (e2e-put 'back (hermes-lsp-ghost-current))
  (e2e-keys "M-f")
  (e2e-put 'line-after-word (buffer-substring-no-properties (line-beginning-position) (line-end-position)))
  (e2e-put 'ghost-after-word (hermes-lsp-ghost-current))
  (e2e-keys "TAB")
  (e2e-put 'after-accept (buffer-substring-no-properties (point-min) (point-max)))
  (e2e-put 'ghost-after-accept (hermes-lsp-ghost-current))
  ;; The major-mode and global switches.
  (hermes-lsp-ghost-toggle-mode)
  (e2e-put 'on-after-mode-off (hermes-lsp-ghost--enabled-p))
  (hermes-lsp-ghost-toggle-mode)
  (e2e-put 'on-after-mode-on (hermes-lsp-ghost--enabled-p))
  (global-hermes-lsp-ghost-mode -1)
  (e2e-put 'on-after-global-off (and hermes-lsp-ghost-mode t))
  (global-hermes-lsp-ghost-mode 1)
  (e2e-put 'on-after-global-on (and hermes-lsp-ghost-mode t))
  ;; Off in this buffer: typing asks nothing.
  (hermes-lsp-ghost-mode -1)
  (e2e-put 'mode-line-off (substring-no-properties (hermes-lsp-mode-line)))
  (with-temp-file (getenv "HERMES_E2E_MARK") (insert "off"))
  (e2e-keys "RET x")
  (let ((deadline (+ (float-time) 0.6)))
    (while (< (float-time) deadline) (accept-process-output nil 0.05)))
  (e2e-put 'ghost-while-off (hermes-lsp-ghost-current))
  (with-temp-file (getenv "HERMES_E2E_MARK") (insert "done")))

(defun e2e-why-and-log ()
  "After an empty answer: `hermes-lsp-why' says so; `hermes-lsp-show-log' opens the log."
  (goto-char (point-min))
  (end-of-line)
  (e2e-keys "RET")
  (e2e-wait "the request to be sent" 10 #'hermes-lsp-ghost-busy-p)
  (e2e-wait "the answer" 10 (lambda () (not (hermes-lsp-ghost-busy-p))))
  (e2e-put 'why (hermes-lsp-why))
  (hermes-lsp-ghost-mode -1)
  (e2e-put 'why-off (hermes-lsp-why))
  (let ((file (current-buffer)))
    (hermes-lsp-show-log)
    (e2e-put 'log-file (buffer-file-name))
    (e2e-put 'log-has-start (and (string-match-p "hermes-lsp .* for " (buffer-string)) t))
    (set-buffer file)))

(setq hermes-lsp-command (list (getenv "HERMES_E2E_SERVER") "--stdio"))
(setq hermes-lsp-settings (list :endpoint (getenv "HERMES_E2E_ENDPOINT")))

(condition-case err
    (progn
      (find-file (getenv "HERMES_E2E_FILE"))
      (e2e-put 'major-mode (symbol-name major-mode))
      (apply #'eglot (eglot--guess-contact))
      (let ((server (e2e-wait "eglot to connect" 20 #'eglot-current-server)))
        (e2e-put 'server-name (plist-get (eglot--server-info server) :name))
        (e2e-put 'managed (and eglot--managed-mode t))
        ;; The first notifications may come from indexing; wait for the state the test expects.
        (ignore-errors
          (e2e-wait "the expected hermes/status" 15
                    (lambda () (equal (car hermes-lsp-status) (getenv "HERMES_E2E_STATUS")))))
        (e2e-put 'status (list (cons 'state (car hermes-lsp-status))
                               (cons 'message (cdr hermes-lsp-status))))
        (e2e-put 'mode-line (substring-no-properties (hermes-lsp-mode-line)))
        (let ((kind (getenv "HERMES_E2E_ACTION"))
              (instruction (getenv "HERMES_E2E_REFACTOR")))
          (when (and kind (not (string-empty-p kind)))
            (e2e-code-action server kind))
          (when (getenv "HERMES_E2E_FOREIGN_WORD")
            (e2e-foreign-fix))
          (when (getenv "HERMES_E2E_GHOST")
            (e2e-ghost))
          (when (getenv "HERMES_E2E_WHY")
            (e2e-why-and-log))
          (when (and instruction (not (string-empty-p instruction)))
            (let ((before (buffer-string)))
              ;; M-x hermes-lsp-refactor on the whole buffer, as with a region.
              (hermes-lsp-refactor (point-min) (point-max) instruction)
              (e2e-wait "the refactor's edit" 30 (lambda () (not (equal before (buffer-string))))))))))
  (error (e2e-put 'error (error-message-string err))))

(e2e-put 'text (buffer-substring-no-properties (point-min) (point-max)))
(e2e-put 'prompts (vconcat e2e-prompts))
(e2e-put 'mode-lines-during-commands (vconcat (reverse e2e-mode-lines)))
(with-temp-file (getenv "HERMES_E2E_RESULT")
  (insert (json-encode e2e-results)))
(ignore-errors (eglot-shutdown (eglot-current-server)))
(kill-emacs 0)

;;; e2e.el ends here
