;;; hermes-lsp.el --- Hermes 4 assistant through eglot  -*- lexical-binding: t -*-

;; Version: 0.1.0
;; Package-Requires: ((emacs "28.1") (eglot "1.9"))
;; Keywords: languages, tools

;;; Commentary:

;; Registers `hermes-lsp --stdio' with eglot for the modes in `hermes-lsp-modes', and adds:
;; - `hermes-lsp-refactor': rewrite the region as instructed (the server's hermes.refactor);
;; - `hermes-lsp-debug': diagnose a stack trace from the region or the kill ring (hermes.debug);
;; - the model server's state in the mode line (the server's hermes/status notification).
;; Completions arrive through `completion-at-point' (company, corfu or the default UI);
;; code actions through `eglot-code-actions'.  Eglot runs one server per buffer: modes
;; listed here use hermes-lsp instead of another language server.

;;; Code:

(require 'cl-lib)
(require 'eglot)
(require 'flymake)
(require 'subr-x)
(require 'hermes-lsp-ghost)

(defgroup hermes-lsp nil
  "Hermes 4 coding assistant through the hermes-lsp language server."
  :group 'tools
  :prefix "hermes-lsp-")

(defcustom hermes-lsp-command '("hermes-lsp" "--stdio")
  "Command line that starts the server.
Use the full path when hermes-lsp is not on `exec-path', for example
\\='(\"~/hermes-lsp/.venv/bin/hermes-lsp\" \"--stdio\")."
  :type '(repeat string))

(defcustom hermes-lsp-modes
  '(python-mode python-ts-mode js-mode js-ts-mode typescript-mode typescript-ts-mode
    go-mode go-ts-mode rust-mode rust-ts-mode java-mode java-ts-mode c-mode c-ts-mode
    c++-mode c++-ts-mode csharp-mode ruby-mode ruby-ts-mode php-mode lua-mode sh-mode)
  "Major modes whose buffers use hermes-lsp."
  :type '(repeat symbol))

(defcustom hermes-lsp-settings nil
  "The `hermes' settings section, as a plist with the server's camelCase keys.
For example (:endpoint \"http://gpu-box:8000/v1\" :completion (:debounceMs 120)).
Empty: the server's defaults, including $HERMES_LSP_ENDPOINT."
  :type 'plist)

(defcustom hermes-lsp-timeout 300
  "Seconds to wait for a refactor, fix or debug answer.
Model actions take longer than eglot's usual 10-second request timeout."
  :type 'integer)

(defcustom hermes-lsp-log-file (locate-user-emacs-file "hermes-lsp.log")
  "Where the server writes its log (`hermes-lsp-show-log'); nil: its stderr buffer."
  :type '(choice file (const nil)))

(defcustom hermes-lsp-ghost-text t
  "Whether `hermes-lsp-register' turns on `global-hermes-lsp-ghost-mode'.
Ghost text is asked for after a pause in typing; see `hermes-lsp-ghost-mode'."
  :type 'boolean)

(defvar hermes-lsp-status nil
  "The last (STATE . MESSAGE) the server reported.")

(defun hermes-lsp--contact (&optional _interactive)
  "The eglot contact: the command line, with the settings as initializationOptions."
  (append (let ((program (car hermes-lsp-command)))
            (list (if (string-prefix-p "~" program) (expand-file-name program) program)))
          (cdr hermes-lsp-command)
          (when (and hermes-lsp-log-file (not (member "--log-file" hermes-lsp-command)))
            (list "--log-file" (expand-file-name hermes-lsp-log-file)))
          (list :initializationOptions (or hermes-lsp-settings eglot--{}))))

(defvar hermes-lsp--other-configuration nil
  "The default `eglot-workspace-configuration' before hermes-lsp wrapped it.")

(defun hermes-lsp--workspace-configuration (server)
  "The workspace configuration for SERVER.
hermes-lsp gets its `hermes' section; other servers get what they had before."
  (if (equal (plist-get (eglot--server-info server) :name) "hermes-lsp")
      (list :hermes (or hermes-lsp-settings eglot--{}))
    (if (functionp hermes-lsp--other-configuration)
        (funcall hermes-lsp--other-configuration server)
      hermes-lsp--other-configuration)))

;;;###autoload
(defun hermes-lsp-register ()
  "Make eglot start hermes-lsp for `hermes-lsp-modes'."
  (add-to-list 'eglot-server-programs (cons hermes-lsp-modes #'hermes-lsp--contact))
  (when hermes-lsp-ghost-text
    (global-hermes-lsp-ghost-mode 1))
  (let ((current (default-value 'eglot-workspace-configuration)))
    (unless (eq current #'hermes-lsp--workspace-configuration)
      (setq hermes-lsp--other-configuration current)
      (setq-default eglot-workspace-configuration #'hermes-lsp--workspace-configuration))))

(cl-defmethod eglot-handle-notification
  (_server (_method (eql hermes/status)) &key state message &allow-other-keys)
  "Remember the state the server reports and show it in the mode line."
  (setq hermes-lsp-status (cons state message))
  (force-mode-line-update t))

(defvar hermes-lsp--running 0 "Commands of this package under way.")

(defun hermes-lsp-mode-line ()
  "A short mode-line string: Hermes, and the state when it is not ready.
A spinner while a suggestion is fetched or a command runs; :off where
suggestions are switched off."
  (pcase (car hermes-lsp-status)
    ((and (or 'nil "ready" "indexing")
          (guard (or (hermes-lsp-ghost-busy-p) (> hermes-lsp--running 0))))
     " Hermes⟳")
    ((or 'nil "ready") (if (hermes-lsp-ghost--enabled-p) " Hermes" " Hermes:off"))
    ("unreachable" (propertize " Hermes:unreachable" 'face 'error
                               'help-echo (cdr hermes-lsp-status)))
    (state (propertize (format " Hermes:%s" state) 'help-echo (cdr hermes-lsp-status)))))

(add-to-list 'mode-line-misc-info
             '(:eval (when (and (bound-and-true-p eglot--managed-mode) hermes-lsp-status)
                       (hermes-lsp-mode-line))))

(defun hermes-lsp--long-timeout (execute server command arguments)
  "Call EXECUTE with a longer timeout when COMMAND is one of hermes-lsp's.
EXECUTE is `eglot-execute-command' with SERVER, COMMAND and ARGUMENTS.
Code actions picked with `eglot-code-actions' run through here too."
  (if (not (string-prefix-p "hermes." (format "%s" command)))
      (funcall execute server command arguments)
    ;; The mode line spins while the model works (the request blocks: redisplay now).
    (cl-incf hermes-lsp--running)
    (force-mode-line-update t)
    (redisplay t)
    (unwind-protect
        (let ((jsonrpc-default-request-timeout hermes-lsp-timeout))
          (funcall execute server command arguments))
      (cl-decf hermes-lsp--running)
      (force-mode-line-update t))))

(advice-add 'eglot-execute-command :around #'hermes-lsp--long-timeout)

;;; Diagnostics from every Flymake backend in the code-action context

(defun hermes-lsp--server-p (server)
  "Whether SERVER is a hermes-lsp connection."
  (and (cl-typep server 'eglot-lsp-server)
       (equal (plist-get (eglot--server-info server) :name) "hermes-lsp")))

(defun hermes-lsp--lsp-diagnostic (diag)
  "Flymake diagnostic DIAG as an LSP Diagnostic (a plist)."
  (let ((type (flymake-diagnostic-type diag)))
    (list :range (list :start (eglot--pos-to-lsp-position (flymake-diagnostic-beg diag))
                       :end (eglot--pos-to-lsp-position (flymake-diagnostic-end diag)))
          :severity (pcase type
                      ((or :error 'eglot-error) 1)
                      ((or :warning 'eglot-warning) 2)
                      (_ 3))
          :message (flymake-diagnostic-text diag)
          :source (format "%s" (flymake-diagnostic-backend diag)))))

(defun hermes-lsp--diagnostics-in (range)
  "LSP diagnostics on the lines of RANGE, from every Flymake backend."
  (when (bound-and-true-p flymake-mode)
    (let* ((region (eglot--range-region range))
           (beg (save-excursion (goto-char (car region)) (line-beginning-position)))
           (end (save-excursion (goto-char (cdr region)) (line-end-position))))
      (cl-loop for diag in (flymake-diagnostics beg end)
               collect (or (cdr (assoc 'eglot-lsp-diag (eglot--diag-data diag)))
                           (hermes-lsp--lsp-diagnostic diag))))))

(defun hermes-lsp--merge-diagnostics (given more)
  "GIVEN (a vector of LSP diagnostics) plus those of MORE not already there."
  (let ((seen (mapcar (lambda (d) (list (plist-get (plist-get (plist-get d :range) :start) :line)
                                        (plist-get d :message)))
                      given)))
    (vconcat given
             (cl-loop for d in more
                      for key = (list (plist-get (plist-get (plist-get d :range) :start) :line)
                                      (plist-get d :message))
                      unless (member key seen) collect d and do (push key seen)))))

(defun hermes-lsp--with-all-diagnostics (args)
  "Give a hermes-lsp code-action request in ARGS every diagnostic.
A filter for `jsonrpc-request'.
Eglot sends a server only its own diagnostics, so a problem that another
Flymake backend (ruff, flake8, a compiler) reports would get no \"Hermes: fix\";
this covers `eglot-code-actions' and `hermes-lsp-fix' alike."
  (pcase-let ((`(,server ,method ,params . ,rest) args))
    (if (and (eq method :textDocument/codeAction) (hermes-lsp--server-p server)
             (plist-get params :range))
        (let* ((context (copy-sequence (plist-get params :context)))
               (merged (hermes-lsp--merge-diagnostics
                        (plist-get context :diagnostics)
                        (hermes-lsp--diagnostics-in (plist-get params :range)))))
          `(,server ,method ,(plist-put (copy-sequence params) :context
                                        (plist-put context :diagnostics merged))
                    ,@rest))
      args)))

(advice-add 'jsonrpc-request :filter-args #'hermes-lsp--with-all-diagnostics)

;;;###autoload
(defun hermes-lsp-fix ()
  "Ask Hermes to fix the diagnostic at point, from any Flymake backend."
  (interactive)
  (let ((last-nonmenu-event (if (listp last-nonmenu-event) ?\r last-nonmenu-event)))
    (eglot-code-actions (line-beginning-position) (line-end-position) "quickfix.hermes.fix" t)))

(defun hermes-lsp--execute (command argument)
  "Run the server's COMMAND with ARGUMENT; the server applies the edit itself."
  (let ((server (eglot--current-server-or-lose)))
    (message "Hermes: working on it...")
    (eglot-execute-command server command (vector argument))
    (message "Hermes: done")))

;;;###autoload
(defun hermes-lsp-refactor (beg end instruction)
  "Rewrite the code between BEG and END as INSTRUCTION says."
  (interactive
   (if (use-region-p)
       (list (region-beginning) (region-end)
             (read-string "Hermes: how should this code change? "))
     (user-error "Select the code to refactor first")))
  (when (string-empty-p (string-trim instruction))
    (user-error "No instruction given"))
  (hermes-lsp--execute
   'hermes.refactor
   (list :uri (eglot--path-to-uri (buffer-file-name))
         :range (list :start (eglot--pos-to-lsp-position beg)
                      :end (eglot--pos-to-lsp-position end))
         :instruction (string-trim instruction))))

;;;###autoload
(defun hermes-lsp-why ()
  "Say why no suggestion was shown here."
  (interactive)
  (message "Hermes: %s"
           (if (not (hermes-lsp-ghost--enabled-p))
               "suggestions are switched off here (`hermes-lsp-ghost-mode', `hermes-lsp-ghost-disabled-modes')"
             (plist-get (eglot-execute-command
                         (eglot--current-server-or-lose) 'hermes.whyNoSuggestion
                         (vector (list :uri (eglot--path-to-uri (buffer-file-name)))))
                        :message))))

;;;###autoload
(defun hermes-lsp-show-log ()
  "Show the server's log, following what it writes."
  (interactive)
  (if (not hermes-lsp-log-file)
      (eglot-stderr-buffer (eglot--current-server-or-lose))
    (pop-to-buffer (find-file-noselect (expand-file-name hermes-lsp-log-file)))
    (auto-revert-tail-mode 1)
    (goto-char (point-max))))

;;;###autoload
(defun hermes-lsp-debug (trace)
  "Diagnose TRACE, a stack trace: the region if active, else the last kill."
  (interactive
   (list (string-trim
          (if (use-region-p)
              (buffer-substring-no-properties (region-beginning) (region-end))
            (or (current-kill 0 t) "")))))
  (when (string-empty-p trace)
    (user-error "No stack trace: select one, or copy it first"))
  (hermes-lsp--execute
   'hermes.debug
   (append (list :trace trace)
           (when (buffer-file-name)
             (list :uri (eglot--path-to-uri (buffer-file-name)))))))

(hermes-lsp-register)

(provide 'hermes-lsp)
;;; hermes-lsp.el ends here
