;;; hermes-lsp-ghost.el --- Ghost-text suggestions from hermes-lsp  -*- lexical-binding: t -*-

;;; Commentary:

;; `hermes-lsp-ghost-mode' shows the model's suggestion after point as dimmed text (an
;; overlay), fetched with LSP `textDocument/inlineCompletion' over eglot's connection to
;; hermes-lsp, after a pause in typing.  While it shows:
;;   TAB      `hermes-lsp-ghost-accept'        insert all of it
;;   M-f      `hermes-lsp-ghost-accept-word'   insert its next word
;;   C-e      `hermes-lsp-ghost-accept-line'   insert the rest of its line
;;   M-]      `hermes-lsp-ghost-next'          next suggestion (the first press asks the
;;            model for different ones)
;;   M-[      `hermes-lsp-ghost-previous'      previous suggestion
;;   C-g      `hermes-lsp-ghost-dismiss'       hide it
;; Typing the characters it predicts keeps it (shortened) without a new request.
;;
;; On and off: `hermes-lsp-ghost-mode' per buffer, `global-hermes-lsp-ghost-mode'
;; everywhere hermes-lsp runs, and `hermes-lsp-ghost-disabled-modes' (or
;; `hermes-lsp-ghost-toggle-mode') per major mode.  While off, no request is sent.

;;; Code:

(require 'cl-lib)
(require 'eglot)
(require 'subr-x)

(defgroup hermes-lsp-ghost nil
  "Ghost-text suggestions from hermes-lsp."
  :group 'hermes-lsp
  :prefix "hermes-lsp-ghost-")

(defcustom hermes-lsp-ghost-delay 0.1
  "Seconds of pause in typing before a suggestion is asked for."
  :type 'number)

(defcustom hermes-lsp-ghost-disabled-modes nil
  "Major modes in which `global-hermes-lsp-ghost-mode' shows no ghost text."
  :type '(repeat symbol))

(defface hermes-lsp-ghost-face
  '((((class color) (min-colors 88)) :foreground "grey50" :slant italic)
    (t :inherit shadow))
  "Face of the suggestion; it must not look like code that is really there.")

(defvar-local hermes-lsp-ghost--texts nil
  "The suggestions, each as the text still to insert at `hermes-lsp-ghost--start'.")
(defvar-local hermes-lsp-ghost--index 0 "Which of `hermes-lsp-ghost--texts' shows.")
(defvar-local hermes-lsp-ghost--start nil "Marker where the suggestion begins (point when shown).")
(defvar-local hermes-lsp-ghost--overlay nil "The overlay that draws the suggestion.")
(defvar-local hermes-lsp-ghost--timer nil "The pending idle timer.")
(defvar-local hermes-lsp-ghost--request nil "Id of the request in flight, or nil.")
(defvar-local hermes-lsp-ghost--seen-tick nil "Buffer tick after the last command.")

(defvar hermes-lsp-ghost-active-map
  (let ((map (make-sparse-keymap)))
    (define-key map (kbd "TAB") #'hermes-lsp-ghost-accept)
    (define-key map (kbd "<tab>") #'hermes-lsp-ghost-accept)
    (define-key map (kbd "M-f") #'hermes-lsp-ghost-accept-word)
    (define-key map (kbd "C-e") #'hermes-lsp-ghost-accept-line)
    (define-key map (kbd "M-]") #'hermes-lsp-ghost-next)
    (define-key map (kbd "M-[") #'hermes-lsp-ghost-previous)
    (define-key map (kbd "C-g") #'hermes-lsp-ghost-dismiss)
    map)
  "Keys that act on the suggestion while it shows (and only then).")

(defvar hermes-lsp-ghost-mode)

(defvar-local hermes-lsp-ghost--visible nil
  "Non-nil while a suggestion shows; turns `hermes-lsp-ghost-active-map' on.")

(add-to-list 'minor-mode-map-alist (cons 'hermes-lsp-ghost--visible hermes-lsp-ghost-active-map))

(defun hermes-lsp-ghost--server ()
  "The hermes-lsp server of this buffer, or nil."
  (when-let ((server (and (bound-and-true-p eglot--managed-mode) (eglot-current-server))))
    (and (equal (plist-get (eglot--server-info server) :name) "hermes-lsp") server)))

(defun hermes-lsp-ghost-busy-p ()
  "Whether a suggestion is being fetched for this buffer (for the mode line)."
  (and hermes-lsp-ghost--request t))

;;; Drawing

(defun hermes-lsp-ghost-current ()
  "The suggestion that shows, or nil."
  (and hermes-lsp-ghost--visible (nth hermes-lsp-ghost--index hermes-lsp-ghost--texts)))

(defun hermes-lsp-ghost--render ()
  "Draw the current suggestion at `hermes-lsp-ghost--start', or nothing."
  (when hermes-lsp-ghost--overlay
    (delete-overlay hermes-lsp-ghost--overlay)
    (setq hermes-lsp-ghost--overlay nil))
  (let ((text (nth hermes-lsp-ghost--index hermes-lsp-ghost--texts)))
    (setq hermes-lsp-ghost--visible (and text (not (string-empty-p text)) t))
    (when hermes-lsp-ghost--visible
      (let ((shown (propertize text 'face 'hermes-lsp-ghost-face))
            (overlay (make-overlay hermes-lsp-ghost--start hermes-lsp-ghost--start nil nil t)))
        ;; The cursor stays before the suggestion, not after it.
        (put-text-property 0 1 'cursor t shown)
        (overlay-put overlay 'after-string shown)
        (overlay-put overlay 'hermes-lsp-ghost t)
        (overlay-put overlay 'priority 100)
        (setq hermes-lsp-ghost--overlay overlay)))))

(defun hermes-lsp-ghost--clear ()
  "Hide the suggestion and forget it."
  (setq hermes-lsp-ghost--texts nil hermes-lsp-ghost--index 0)
  (hermes-lsp-ghost--render))

(defun hermes-lsp-ghost--show (texts start &optional index)
  "Show TEXTS at START, the INDEXth first."
  (setq hermes-lsp-ghost--texts texts
        hermes-lsp-ghost--index (or index 0))
  (if (markerp hermes-lsp-ghost--start)
      (set-marker hermes-lsp-ghost--start start)
    (setq hermes-lsp-ghost--start (copy-marker start)))
  (hermes-lsp-ghost--render))

;;; Asking

(defun hermes-lsp-ghost--item-text (item)
  "What ITEM (an InlineCompletionItem) adds at point.
Nil when it rewrites text already typed."
  (let* ((insert (plist-get item :insertText))
         (text (if (stringp insert)
                   insert
                 ;; A snippet: keep the placeholders' default text.
                 (replace-regexp-in-string
                  "\\$[0-9]+" ""
                  (replace-regexp-in-string "\\${[0-9]+:\\([^}]*\\)}" "\\1" (or (plist-get insert :value) "")))))
         (range (plist-get item :range)))
    (if (not range)
        text
      (let* ((from (car (eglot--range-region range)))
             (typed (buffer-substring-no-properties (min from (point)) (point))))
        (when (string-prefix-p typed text)
          (substring text (length typed)))))))

(defun hermes-lsp-ghost--cancel ()
  "Cancel the request in flight, closing its stream on the model server."
  (when-let ((server (and hermes-lsp-ghost--request (hermes-lsp-ghost--server))))
    (jsonrpc-notify server :$/cancelRequest (list :id hermes-lsp-ghost--request)))
  (setq hermes-lsp-ghost--request nil))

(defun hermes-lsp-ghost-request (&optional invoked showing)
  "Ask hermes-lsp for suggestions at point.
INVOKED: the user asked (a request for several different ones); SHOWING: the
suggestion on screen, so the answer opens on one that differs from it."
  (let ((server (hermes-lsp-ghost--server))
        (buffer (current-buffer)))
    (when (and server (hermes-lsp-ghost--enabled-p))
      (hermes-lsp-ghost--cancel)
      (eglot--signal-textDocument/didChange)
      (let ((tick (buffer-chars-modified-tick))
            (start (point))
            id)
        (cl-flet ((done (then)
                    ;; The answer (or error) of request ID: no longer in flight; then THEN.
                    (lambda (result)
                      (when (buffer-live-p buffer)
                        (with-current-buffer buffer
                          (when (eql hermes-lsp-ghost--request id)
                            (setq hermes-lsp-ghost--request nil)
                            (force-mode-line-update))
                          (funcall then result))))))
          ;; The internal variant returns the request's id, which $/cancelRequest needs;
          ;; `jsonrpc-async-request' returns nil.
          (setq id
                (car (jsonrpc--async-request-1
                      server :textDocument/inlineCompletion
                      (append (eglot--TextDocumentPositionParams)
                              (list :context (list :triggerKind (if invoked 1 2))))
                      :success-fn
                      (done (lambda (result)
                              (when (and (= tick (buffer-chars-modified-tick)) (= start (point)))
                                (hermes-lsp-ghost--receive result showing))))
                      :error-fn (done #'ignore)
                      :timeout-fn #'ignore))))
        (setq hermes-lsp-ghost--request id)
        (force-mode-line-update)))))

(defun hermes-lsp-ghost--receive (result showing)
  "Show the suggestions of RESULT; open on one that differs from SHOWING."
  (let* ((items (if (vectorp result) result (plist-get result :items)))
         (texts (delete-dups
                 (cl-loop for item across (or items [])
                          for text = (hermes-lsp-ghost--item-text item)
                          when (and text (not (string-empty-p text))) collect text))))
    (when texts
      (hermes-lsp-ghost--show texts (point)
                              (or (and showing (cl-position-if-not
                                                (lambda (text) (equal text showing)) texts))
                                  0)))))

(defun hermes-lsp-ghost--schedule ()
  "Ask for a suggestion once typing pauses: each keystroke restarts the wait."
  (when (timerp hermes-lsp-ghost--timer)
    (cancel-timer hermes-lsp-ghost--timer))
  (let ((buffer (current-buffer)))
    (setq hermes-lsp-ghost--timer
          (run-with-timer
           hermes-lsp-ghost-delay nil
           (lambda ()
             (when (and (buffer-live-p buffer) (eq buffer (current-buffer)))
               (hermes-lsp-ghost-request)))))))

(defconst hermes-lsp-ghost--own-commands
  '(hermes-lsp-ghost-accept hermes-lsp-ghost-accept-word hermes-lsp-ghost-accept-line
    hermes-lsp-ghost-next hermes-lsp-ghost-previous hermes-lsp-ghost-dismiss)
  "Commands that handle the suggestion themselves.")

(defun hermes-lsp-ghost--post-command ()
  "After a command: keep the suggestion if what was typed matches it.
Otherwise hide it, and after an edit ask again."
  (unless (memq this-command hermes-lsp-ghost--own-commands)
    (let ((text (hermes-lsp-ghost-current))
          (typed (and hermes-lsp-ghost--start (<= hermes-lsp-ghost--start (point))
                      (<= (point) (line-end-position))
                      (buffer-substring-no-properties hermes-lsp-ghost--start (point)))))
      (cond
       ((and text typed (not (string-empty-p typed)) (< (length typed) (length text))
             (string-prefix-p typed text))
        ;; Typed ahead: shorten every suggestion that still fits.
        (hermes-lsp-ghost--show
         (cl-loop for s in hermes-lsp-ghost--texts
                  collect (if (string-prefix-p typed s) (substring s (length typed)) ""))
         (point) hermes-lsp-ghost--index))
       ((and text (equal typed "")) nil)   ; nothing moved (e.g. a mode-line click)
       (t
        (hermes-lsp-ghost--clear)
        (hermes-lsp-ghost--cancel)
        ;; Only an edit asks again; moving around does not.
        (unless (eql hermes-lsp-ghost--seen-tick (buffer-chars-modified-tick))
          (hermes-lsp-ghost--schedule))))))
  (setq hermes-lsp-ghost--seen-tick (buffer-chars-modified-tick)))

;;; Commands

(defun hermes-lsp-ghost--insert (text)
  "Insert TEXT, part of the suggestion, at its start."
  (goto-char hermes-lsp-ghost--start)
  (insert text))

(defun hermes-lsp-ghost-accept ()
  "Insert the whole suggestion."
  (interactive)
  (let ((text (hermes-lsp-ghost-current)))
    (hermes-lsp-ghost--clear)
    (when text (hermes-lsp-ghost--insert text))))

(defun hermes-lsp-ghost--accept-part (regexp)
  "Insert the start of the suggestion that REGEXP matches; the rest stays."
  (let* ((text (hermes-lsp-ghost-current))
         (part (and text (string-match regexp text) (match-string 0 text))))
    (cond
     ((null text) nil)
     ((or (null part) (>= (length part) (length text))) (hermes-lsp-ghost-accept))
     (t
      (let ((rest (cl-loop for s in hermes-lsp-ghost--texts
                           collect (if (string-prefix-p part s) (substring s (length part)) ""))))
        (hermes-lsp-ghost--insert part)
        (if (string-match-p "\n" part)
            (hermes-lsp-ghost--clear)
          (hermes-lsp-ghost--show rest (point) hermes-lsp-ghost--index)))))))

(defun hermes-lsp-ghost-accept-word ()
  "Insert the suggestion's next word."
  (interactive)
  (hermes-lsp-ghost--accept-part
   "\\`\\(?:[ \t]*[[:alnum:]_]+\\|[ \t]*[^[:alnum:]_ \t\n]+\\|[ \t]*\n\\)"))

(defun hermes-lsp-ghost-accept-line ()
  "Insert the rest of the suggestion's current line."
  (interactive)
  (hermes-lsp-ghost--accept-part "\\`\n?[^\n]*"))

(defun hermes-lsp-ghost--cycle (step)
  "Show the suggestion STEP away; with only one, ask the model for others."
  (if (cdr hermes-lsp-ghost--texts)
      (progn
        (setq hermes-lsp-ghost--index (mod (+ hermes-lsp-ghost--index step)
                                           (length hermes-lsp-ghost--texts)))
        (hermes-lsp-ghost--render))
    (hermes-lsp-ghost-request t (hermes-lsp-ghost-current))))

(defun hermes-lsp-ghost-next ()
  "Show the next suggestion (asking for more when there is only one)."
  (interactive)
  (hermes-lsp-ghost--cycle 1))

(defun hermes-lsp-ghost-previous ()
  "Show the previous suggestion (asking for more when there is only one)."
  (interactive)
  (hermes-lsp-ghost--cycle -1))

(defun hermes-lsp-ghost-dismiss ()
  "Hide the suggestion."
  (interactive)
  (hermes-lsp-ghost--cancel)
  (hermes-lsp-ghost--clear))

;;; On and off

(defun hermes-lsp-ghost--enabled-p ()
  "Whether suggestions are on in this buffer."
  (and hermes-lsp-ghost-mode (not (memq major-mode hermes-lsp-ghost-disabled-modes))))

;;;###autoload
(define-minor-mode hermes-lsp-ghost-mode
  "Show hermes-lsp's suggestions as ghost text after point."
  :lighter nil
  (if hermes-lsp-ghost-mode
      (add-hook 'post-command-hook #'hermes-lsp-ghost--post-command nil t)
    (remove-hook 'post-command-hook #'hermes-lsp-ghost--post-command t)
    (when (timerp hermes-lsp-ghost--timer)
      (cancel-timer hermes-lsp-ghost--timer))
    (hermes-lsp-ghost-dismiss))
  (force-mode-line-update))

(defun hermes-lsp-ghost--maybe-enable ()
  "Turn `hermes-lsp-ghost-mode' on where hermes-lsp manages the buffer."
  (when (and (hermes-lsp-ghost--server) (not (memq major-mode hermes-lsp-ghost-disabled-modes)))
    (hermes-lsp-ghost-mode 1)))

;;;###autoload
(define-globalized-minor-mode global-hermes-lsp-ghost-mode hermes-lsp-ghost-mode
  hermes-lsp-ghost--maybe-enable)

;; A buffer becomes hermes-lsp's only once eglot connects, after the global mode's turn-on
;; ran; eglot's hook catches that moment.
(add-hook 'eglot-managed-mode-hook
          (lambda () (when global-hermes-lsp-ghost-mode (hermes-lsp-ghost--maybe-enable))))

;;;###autoload
(defun hermes-lsp-ghost-toggle-mode ()
  "Switch ghost text off, or back on, for every buffer of the current major mode."
  (interactive)
  (let ((mode major-mode))
    (setq hermes-lsp-ghost-disabled-modes
          (if (memq mode hermes-lsp-ghost-disabled-modes)
              (delq mode hermes-lsp-ghost-disabled-modes)
            (cons mode hermes-lsp-ghost-disabled-modes)))
    (dolist (buffer (buffer-list))
      (with-current-buffer buffer
        (when (and (eq major-mode mode) (not (hermes-lsp-ghost--enabled-p)))
          (hermes-lsp-ghost-dismiss))))
    (message "Hermes: suggestions %s in %s"
             (if (memq mode hermes-lsp-ghost-disabled-modes) "off" "on") mode)))

(provide 'hermes-lsp-ghost)
;;; hermes-lsp-ghost.el ends here
