;;; codellama-ls.el --- Code Llama completions from codellama-ls through Eglot  -*- lexical-binding: t; -*-

;; Author: The codellama-ls authors
;; Maintainer: The codellama-ls authors
;; Version: 0.1.0
;; Package-Requires: ((emacs "29.1"))
;; Keywords: tools, languages, convenience

;; SPDX-License-Identifier: Apache-2.0
;; This file is not part of GNU Emacs.

;;; Commentary:

;; codellama-ls is a language server that completes code with a local
;; Code Llama model (a GGUF file run by llama.cpp).  This package
;; connects it to Emacs through Eglot, which is built into Emacs 29
;; and later:
;;
;; - The global minor mode `codellama-ls-mode' puts an entry first in
;;   `eglot-server-programs', so M-x eglot (or `eglot-ensure') in a
;;   buffer of one of `codellama-ls-major-modes' starts
;;   `codellama-ls-command'.  Settings for the server go in
;;   `codellama-ls-initialization-options'.  Loading the package
;;   changes nothing by itself.
;;
;; - `completion-at-point' (C-M-i) works through Eglot's own
;;   textDocument/completion support: the suggestion is offered as a
;;   single completion candidate.
;;
;; - `codellama-ls-inline-mode' shows the suggestion as ghost text
;;   after point.  It asks the server for textDocument/inlineCompletion
;;   when Emacs has been idle for `codellama-ls-idle-delay' seconds
;;   after an edit, or at once with C-c / (`codellama-ls-complete').
;;   While a suggestion is shown, TAB accepts it, M-RET accepts one
;;   line of it, M-f one word, M-n and M-p show the next and previous
;;   of the server's alternatives ("2/3" in the echo area), and C-g or
;;   moving point elsewhere dismisses it.  Other
;;   times these keys do what they always do.  The mode turns itself on
;;   in buffers that Eglot manages with a server that offers inline
;;   completions (see `codellama-ls-inline-auto').
;;
;; Minimal setup:
;;
;;   (add-to-list 'load-path "/path/to/codellama-ls/editors/emacs")
;;   (require 'codellama-ls)
;;   (setq codellama-ls-initialization-options '(:model "codellama-7b"))
;;   (codellama-ls-mode 1)
;;   (add-hook 'python-mode-hook #'eglot-ensure)
;;
;; While a suggestion is computed the mode line shows " CL…"; while
;; the model loads or an action runs, it says so (" CL[Loading model
;; codellama-7b 40%]").  M-x codellama-ls-show-log shows the server's log.

;;; Code:

(require 'cl-lib)
(require 'subr-x)
(require 'eglot)
(require 'jsonrpc)

;;;; Customization

(defgroup codellama-ls nil
  "Code Llama completions from the codellama-ls language server."
  :group 'eglot
  :prefix "codellama-ls-")

(defcustom codellama-ls-command '("codellama-ls")
  "Program and arguments that start the codellama-ls server.
The server talks LSP over standard input and output."
  :type '(repeat string))

(defcustom codellama-ls-initialization-options nil
  "Settings sent to the server as LSP `initializationOptions'.
A plist with the server's camelCase keys, for example
  (:model \"codellama-7b\" :maxTokens 64 :maxLines 4 :nGpuLayers 0)
nil sends an empty object, so the server uses its configuration
file, environment variables and defaults."
  :type '(plist :key-type symbol :value-type sexp))

(defcustom codellama-ls-major-modes
  '((python-mode :language-id "python")
    (python-ts-mode :language-id "python")
    (js-mode :language-id "javascript")
    (js-ts-mode :language-id "javascript")
    (typescript-ts-mode :language-id "typescript")
    (tsx-ts-mode :language-id "typescriptreact")
    (go-mode :language-id "go")
    (go-ts-mode :language-id "go")
    (rust-mode :language-id "rust")
    (rust-ts-mode :language-id "rust")
    (c-mode :language-id "c")
    (c-ts-mode :language-id "c")
    (c++-mode :language-id "cpp")
    (c++-ts-mode :language-id "cpp")
    (java-mode :language-id "java")
    (java-ts-mode :language-id "java")
    (lua-mode :language-id "lua")
    (lua-ts-mode :language-id "lua")
    (sh-mode :language-id "shellscript")
    (bash-ts-mode :language-id "shellscript")
    (ruby-mode :language-id "ruby")
    (ruby-ts-mode :language-id "ruby")
    (php-mode :language-id "php")
    (csharp-mode :language-id "csharp")
    (csharp-ts-mode :language-id "csharp"))
  "Major modes whose buffers Eglot connects to codellama-ls.
Each element is a major mode symbol or (MODE :language-id ID), as
in `eglot-server-programs'.  After changing this outside of the
Customize interface, call `codellama-ls-eglot-setup' again."
  :type '(repeat (choice symbol (list symbol (const :language-id) string)))
  :initialize #'custom-initialize-default
  :set (lambda (symbol value)
         (set-default-toplevel-value symbol value)
         (when (bound-and-true-p codellama-ls-mode)
           (codellama-ls-eglot-setup))))

(defcustom codellama-ls-idle-delay 0.3
  "Seconds of idle time after an edit before asking for a suggestion."
  :type 'number)

(defcustom codellama-ls-auto-trigger t
  "Whether `codellama-ls-inline-mode' asks for suggestions after edits.
When nil, suggestions only come from \\[codellama-ls-complete]."
  :type 'boolean)

(defcustom codellama-ls-inline-auto t
  "Whether to turn on `codellama-ls-inline-mode' in Eglot buffers.
When non-nil, the mode is enabled in every buffer Eglot manages
whose server offers textDocument/inlineCompletion."
  :type 'boolean)

(defcustom codellama-ls-request-timeout 30
  "Seconds to wait for an inline completion before giving up."
  :type 'number)

(defface codellama-ls-ghost-face
  '((t :inherit shadow))
  "Face of the suggested text shown after point.")

(defface codellama-ls-replaced-face
  '((t :inherit shadow :strike-through t))
  "Face of buffer text that accepting the suggestion would replace.")

;;;; Eglot server entry

(defun codellama-ls--initialization-options (_server)
  "The `initializationOptions' object for a new server."
  (or codellama-ls-initialization-options (make-hash-table)))

(defun codellama-ls--contact (&optional _interactive _project)
  "Eglot contact for codellama-ls: `codellama-ls-command' and its options."
  (append codellama-ls-command
          (list :initializationOptions #'codellama-ls--initialization-options)))

;;;###autoload
(defun codellama-ls-eglot-setup ()
  "Put codellama-ls first in `eglot-server-programs' for its major modes.
Turning on `codellama-ls-mode' calls this function."
  (interactive)
  (setq eglot-server-programs
        (cons (cons codellama-ls-major-modes #'codellama-ls--contact)
              (cl-remove #'codellama-ls--contact eglot-server-programs
                         :key #'cdr-safe))))

;;;; Small helpers over Eglot

(defun codellama-ls--server-capable (&rest features)
  "Whether the current server has the capability FEATURES."
  (if (fboundp 'eglot-server-capable)
      (apply #'eglot-server-capable features)
    (apply (with-no-warnings #'eglot--server-capable) features)))

(defun codellama-ls--range-region (range)
  "Buffer positions (BEG . END) of the LSP RANGE, in the server's encoding."
  (cons (eglot--lsp-position-to-point (plist-get range :start))
        (eglot--lsp-position-to-point (plist-get range :end))))

;;;###autoload
(defun codellama-ls-status (&optional server)
  "Return the codellama/status object of SERVER as a plist.
SERVER defaults to the current buffer's Eglot server.  Interactively,
show the model's state in the echo area."
  (interactive)
  (let* ((server (or server (eglot-current-server)
                     (user-error "No Eglot server here")))
         (status (jsonrpc-request server :codellama/status nil)))
    (when (called-interactively-p 'interactive)
      (message "codellama-ls: %s%s%s%s"
               (plist-get status :state)
               (if-let ((name (plist-get status :model_name))) (format " (%s)" name) "")
               (let ((layers (plist-get status :gpu_layers)))
                 (cond ((not (integerp layers)) "")
                       ((> layers 0) (format ", %d layers on the GPU" layers))
                       (t ", CPU only")))
               (if-let ((err (plist-get status :error))) (format ": %s" err) "")))
    status))

;;;###autoload
(defun codellama-ls-show-log (&optional copy)
  "Show the log of the current buffer's codellama-ls server.
The server writes its log to standard error, which Eglot keeps in a
buffer.  With prefix argument COPY, also put the log in the kill ring."
  (interactive "P")
  (let* ((server (or (eglot-current-server)
                     (user-error "No Eglot server here")))
         (buffer (if (fboundp 'jsonrpc-stderr-buffer)
                     (jsonrpc-stderr-buffer server)
                   ;; An older jsonrpc has no accessor; it keeps the buffer on the process.
                   (process-get (jsonrpc--process server) 'jsonrpc-stderr))))
    (unless (buffer-live-p buffer)
      (user-error "The server's log is gone (the server has exited)"))
    (when copy
      (with-current-buffer buffer
        (kill-new (buffer-substring-no-properties (point-min) (point-max))))
      (message "codellama-ls: the log is in the kill ring"))
    (with-current-buffer buffer
      (goto-char (point-max)))
    (display-buffer buffer)))

(defun codellama-ls--explain-empty (server)
  "Say why SERVER had no suggestion for an explicit request.
Asks for codellama/status; prints one message."
  (jsonrpc-async-request
   server :codellama/status nil
   :success-fn
   (lambda (status)
     (let ((state (plist-get status :state)))
       (message "codellama-ls: %s"
                (pcase state
                  ("failed" (format "no suggestion: the model failed to load: %s"
                                    (or (plist-get status :error) "unknown error")))
                  ((or "loading" "idle") "no suggestion yet: the model is still loading")
                  (_ "no suggestion here")))))
   :error-fn #'ignore
   :timeout-fn #'ignore))

;;;; Inline suggestions: state

(defvar codellama-ls-inline-mode)     ; Defined below by `define-minor-mode'.

(defvar-local codellama-ls--items nil
  "Current suggestions: a list of (BEG END TEXT).
Accepting one replaces BEG..END with TEXT.")

(defvar-local codellama-ls--index 0
  "Index in `codellama-ls--items' of the suggestion shown.")

(defvar-local codellama-ls--items-invoked nil
  "Non-nil when `codellama-ls--items' answer an explicit request.
Only explicit requests get alternatives: an automatic one gets one.")

(defvar-local codellama-ls--step nil
  "For a next/previous key waiting for the alternatives: the item to show.")

(defvar-local codellama-ls--overlay nil
  "Overlay that shows the suggestion.")

(defvar-local codellama-ls--showing nil
  "Non-nil while a suggestion is shown; activates `codellama-ls-suggestion-map'.")

(defvar-local codellama-ls--anchor nil
  "Position point must stay at for the shown suggestion to stay.")

(defvar-local codellama-ls--generation 0
  "Counter of inline requests; a reply for an older one is stale.")

(defvar-local codellama-ls--pending nil
  "The inline request in flight: (SERVER ID POINT), ID nil if unknown.")

(defvar-local codellama-ls--inhibit nil
  "Non-nil while this package edits the buffer itself.")

(defvar codellama-ls--timer nil
  "Idle timer that asks for a suggestion after edits.")

(defcustom codellama-ls-busy-lighter " CL…"
  "Mode line lighter while a suggestion is being computed."
  :type 'string)

(defvar codellama-ls--progress (make-hash-table :test #'equal)
  "The server's work in progress: $/progress TOKEN -> (SERVER TEXT PERCENTAGE).")

(defconst codellama-ls--action-prefix "codellama-ls/action/"
  "How the server's progress tokens of code actions begin.")

(defvar codellama-ls--actions-begun nil
  "Code actions in progress: a list of (TOKEN TITLE).")

(defvar codellama-ls--actions-running nil
  "Non-nil while a code action runs; activates `codellama-ls-action-map'.")

(defun codellama-ls--progress-text (server)
  "What SERVER is working on, for the mode line; nil when nothing."
  (let (texts)
    (maphash (lambda (_token work)
               (pcase-let ((`(,owner ,text ,percentage) work))
                 (when (eq owner server)
                   (push (if (numberp percentage) (format "%s %d%%%%" text percentage) text) texts))))
             codellama-ls--progress)
    (and texts (string-join texts ", "))))

(defun codellama-ls--lighter ()
  "The mode line lighter of `codellama-ls-inline-mode'.
While the server loads the model or runs an action, it says so:
Eglot's own indicator shows a percentage only."
  (let ((work (and (bound-and-true-p eglot--managed-mode)
                   (codellama-ls--progress-text (eglot-current-server)))))
    (cond (work (format " CL[%s]" work))
          (codellama-ls--pending codellama-ls-busy-lighter)
          (t " CL"))))

(cl-defmethod eglot-handle-notification :after
  (server (_method (eql $/progress)) &key token value &allow-other-keys)
  "Keep codellama-ls's work in progress (TOKEN, VALUE) from SERVER for the lighter."
  (when (and (stringp token) (string-prefix-p "codellama-ls/" token))
    (let ((title (plist-get value :title))
          (message (plist-get value :message))
          (percentage (plist-get value :percentage)))
      (pcase (plist-get value :kind)
        ("begin"
         ;; Loading says which model in its message; an action's title says what it does.
         (puthash token (list server (if (equal title "codellama-ls") (or message title) title) percentage)
                  codellama-ls--progress))
        ("report"
         (when-let* ((work (gethash token codellama-ls--progress)))
           (puthash token (list server
                                (if (and message (string-prefix-p "Loading" message)) message (nth 1 work))
                                percentage)
                    codellama-ls--progress)))
        ("end"
         (remhash token codellama-ls--progress)
         ;; Eglot would show 100% for two seconds, even for a model that failed to load.
         (when (fboundp 'eglot--progress-reporters)
           (remhash token (eglot--progress-reporters server)))
         (when (and message (string-prefix-p codellama-ls--action-prefix token))
           (message "codellama-ls: %s: %s" (or (nth 1 (assoc token codellama-ls--actions-begun)) "action")
                    message))))
      (when (string-prefix-p codellama-ls--action-prefix token)
        (when (equal (plist-get value :kind) "begin")
          (push (list token title) codellama-ls--actions-begun))
        (when (equal (plist-get value :kind) "end")
          (setq codellama-ls--actions-begun (assoc-delete-all token codellama-ls--actions-begun))))
      (setq codellama-ls--actions-running (and (codellama-ls--action-tokens) t))
      (force-mode-line-update t))))

;;;; Code actions: running in the background, cancelled with C-g

(defun codellama-ls--action-tokens (&optional server)
  "The code actions running on SERVER (any if nil), as (TOKEN . SERVER)."
  (let (tokens)
    (maphash (lambda (token work)
               (when (and (string-prefix-p codellama-ls--action-prefix token)
                          (or (null server) (eq server (car work))))
                 (push (cons token (car work)) tokens)))
             codellama-ls--progress)
    tokens))

(defun codellama-ls-cancel ()
  "Stop the code actions the server is running: nothing they computed is applied."
  (interactive)
  (let ((tokens (codellama-ls--action-tokens)))
    (dolist (entry tokens)
      (when (jsonrpc-running-p (cdr entry))
        (jsonrpc-notify (cdr entry) :window/workDoneProgress/cancel (list :token (car entry)))))
    (when (called-interactively-p 'interactive)
      (message "codellama-ls: %s" (if tokens "cancelling the running action" "no action is running")))
    (and tokens t)))

(defun codellama-ls-cancel-or-quit ()
  "Cancel the running code actions, then do what \[keyboard-quit] does here."
  (interactive)
  (codellama-ls-cancel)
  (let* ((codellama-ls--actions-running nil)
         (command (key-binding (this-command-keys-vector) t)))
    (when (and (commandp command) (not (eq command this-command)))
      (setq this-command command)
      (call-interactively command))))

(defvar-keymap codellama-ls-action-map
  :doc "Keys active while a code action runs."
  "C-g" #'codellama-ls-cancel-or-quit)

(defun codellama-ls--set-pending (value)
  "Set `codellama-ls--pending' to VALUE and update the mode line."
  (setq codellama-ls--pending value)
  (force-mode-line-update))

;;;; Inline suggestions: keys

(defvar-keymap codellama-ls-suggestion-map
  :doc "Keys active while a suggestion is shown."
  "TAB" #'codellama-ls-accept
  "<tab>" #'codellama-ls-accept
  "M-RET" #'codellama-ls-accept-line
  "M-<return>" #'codellama-ls-accept-line
  "M-f" #'codellama-ls-accept-word
  "M-n" #'codellama-ls-next
  "M-p" #'codellama-ls-previous
  "C-g" #'codellama-ls-dismiss)

(defvar-keymap codellama-ls-next-edit-map
  :doc "Keys active while a next edit is shown."
  "TAB" #'codellama-ls-next-edit-jump-or-accept
  "<tab>" #'codellama-ls-next-edit-jump-or-accept
  "C-g" #'codellama-ls-next-edit-dismiss)

(defvar codellama-ls--next-edit-showing)  ; Defined with the next edits below.

(defvar codellama-ls--emulation-alist
  `((codellama-ls--showing . ,codellama-ls-suggestion-map)
    (codellama-ls--actions-running . ,codellama-ls-action-map)
    (codellama-ls--next-edit-showing . ,codellama-ls-next-edit-map))
  "Makes `codellama-ls-suggestion-map' win over minor mode maps.
`codellama-ls-inline-mode' puts it in `emulation-mode-map-alists'.")

(defvar-keymap codellama-ls-inline-mode-map
  :doc "Keys of `codellama-ls-inline-mode'."
  "C-c /" #'codellama-ls-complete)

(defconst codellama-ls--own-commands
  '(codellama-ls-accept codellama-ls-accept-line codellama-ls-accept-word
    codellama-ls-next codellama-ls-previous codellama-ls-complete)
  "Commands that keep the suggestion shown.")

;;;; Inline suggestions: display

(defun codellama-ls--clear-overlay ()
  "Hide the suggestion without forgetting it."
  (when (overlayp codellama-ls--overlay)
    (delete-overlay codellama-ls--overlay))
  (setq codellama-ls--overlay nil
        codellama-ls--showing nil
        codellama-ls--anchor nil))

(defun codellama-ls--ghost (item)
  "Return the text of ITEM not yet in the buffer, and how it fits.
Return (GHOST . FIT).  FIT is `extends' when the buffer text of
ITEM's range is a prefix of its text: GHOST is what accepting adds
after the range.  It is `keeps' when the range's text before point
starts the text and its text after point (closers the editor paired)
ends it: GHOST goes in at point, before them.  Otherwise FIT is nil
and GHOST is the whole replacement."
  (pcase-let* ((`(,beg ,end ,text) item)
               (typed (buffer-substring-no-properties beg end)))
    (if (string-prefix-p typed text)
        (cons (substring text (length typed)) 'extends)
      (let ((before (and (<= beg (point) end) (buffer-substring-no-properties beg (point))))
            (after (and (<= beg (point) end) (buffer-substring-no-properties (point) end))))
        (if (and before
                 (>= (length text) (+ (length before) (length after)))
                 (string-prefix-p before text)
                 (string-suffix-p after text))
            (cons (substring text (length before) (- (length text) (length after))) 'keeps)
          (cons text nil))))))

(defun codellama-ls--render ()
  "Show the current suggestion; return non-nil if there is one to show."
  (codellama-ls--clear-overlay)
  (when-let* ((item (nth codellama-ls--index codellama-ls--items)))
    (pcase-let* ((`(,beg ,end ,_) item)
                 (`(,ghost . ,fit) (codellama-ls--ghost item)))
      (unless (string-empty-p ghost)
        (let ((shown (propertize ghost 'face 'codellama-ls-ghost-face))
              (ov (pcase fit
                    ('extends (make-overlay end end nil t nil))
                    ('keeps (make-overlay (point) (point) nil t nil))
                    (_ (make-overlay beg end nil t nil)))))
          ;; The cursor stays before the ghost text, where the text goes.
          ;; It cannot sit on a newline of a display string, so a ghost
          ;; that starts a new line gets a blank to sit on, as it would
          ;; at the end of a line without ghost text.
          (when (eq (aref shown 0) ?\n)
            (setq shown (concat " " shown)))
          (put-text-property 0 1 'cursor t shown)
          (overlay-put ov 'after-string shown)
          (overlay-put ov 'codellama-ls-ghost ghost)
          (overlay-put ov 'codellama-ls t)
          (overlay-put ov 'priority 1000)
          (unless fit
            (overlay-put ov 'face 'codellama-ls-replaced-face))
          (setq codellama-ls--overlay ov
                codellama-ls--showing t
                codellama-ls--anchor (point))
          t)))))

(defun codellama-ls-current-suggestion ()
  "The text the shown suggestion would add, or nil if none is shown."
  (and codellama-ls--showing
       (overlayp codellama-ls--overlay)
       (overlay-get codellama-ls--overlay 'codellama-ls-ghost)))

(defun codellama-ls--items-from (result)
  "Suggestions (BEG END TEXT) from an InlineCompletionList or item array RESULT."
  (let ((items (if (and (listp result) (plist-member result :items))
                   (plist-get result :items)
                 result))
        out)
    (seq-doseq (item items)
      (let* ((insert (plist-get item :insertText))
             ;; A snippet StringValue: use its text as is.
             (text (if (stringp insert) insert (plist-get insert :value)))
             (range (plist-get item :range))
             (region (if range (codellama-ls--range-region range)
                       (cons (point) (point)))))
        (when (and (stringp text)
                   (not (string-empty-p text))
                   ;; Like VS Code: the range has to contain point.
                   (<= (car region) (point) (cdr region)))
          (push (list (car region) (cdr region) text) out))))
    (nreverse out)))

(defun codellama-ls--show (items &optional invoked)
  "Show the first of ITEMS, a list of (BEG END TEXT).
INVOKED is non-nil when they answer an explicit request.  After a
next/previous key, show the item `codellama-ls--step' places away."
  (let ((step (or codellama-ls--step 0)))
    (setq codellama-ls--items items
          codellama-ls--items-invoked invoked
          codellama-ls--step nil
          codellama-ls--index (if items (mod step (length items)) 0)))
  (if (codellama-ls--render)
      (codellama-ls--say-count)
    (setq codellama-ls--items nil)))

(defun codellama-ls--say-count ()
  "Say which of several suggestions is shown, as \"1/3\", in the echo area."
  (when (cdr codellama-ls--items)
    (let ((message-log-max nil))
      (message "codellama-ls: suggestion %d/%d"
               (1+ codellama-ls--index) (length codellama-ls--items)))))

;;;; Inline suggestions: requests

(defun codellama-ls--cancel-request ()
  "Forget the inline request in flight and ask the server to stop it."
  ;; Its reply, an answer or a cancellation error, is now stale.
  (cl-incf codellama-ls--generation)
  (pcase codellama-ls--pending
    (`(,server ,id ,_)
     (when (and id (jsonrpc-running-p server))
       (jsonrpc-notify server :$/cancelRequest (list :id id)))))
  (when codellama-ls--pending
    (codellama-ls--set-pending nil)))

(defun codellama-ls--request (trigger-kind)
  "Ask the server for inline suggestions at point.
TRIGGER-KIND is 1 (invoked by the user) or 2 (automatic)."
  (when-let* ((server (eglot-current-server)))
    (when (codellama-ls--server-capable :inlineCompletionProvider)
      (when codellama-ls--pending (codellama-ls--cancel-request))
      ;; Send pending edits now, so that the server sees the text we see
      ;; and the request need not wait for Eglot's own idle timer.
      (eglot--signal-textDocument/didChange)
      (let* ((buffer (current-buffer))
             (tick (buffer-chars-modified-tick))
             (pos (point))
             (generation (cl-incf codellama-ls--generation))
             (ready (jsonrpc-connection-ready-p server 'codellama-ls-inline))
             (last-id (jsonrpc--next-request-id server))
             (current (lambda ()
                        (and (buffer-live-p buffer)
                             (with-current-buffer buffer
                               (= generation codellama-ls--generation)))))
             (done (lambda ()
                     (with-current-buffer buffer
                       (codellama-ls--set-pending nil)))))
        (jsonrpc-async-request
         server :textDocument/inlineCompletion
         (list :textDocument (eglot--TextDocumentIdentifier)
               :position (eglot--pos-to-lsp-position pos)
               :context (list :triggerKind trigger-kind))
         :success-fn
         (lambda (result)
           (when (funcall current)
             (funcall done)
             (with-current-buffer buffer
               ;; Only show what was computed for the text as it is now.
               (when (and codellama-ls-inline-mode
                          (= tick (buffer-chars-modified-tick))
                          (= pos (point)))
                 (let ((items (codellama-ls--items-from result)))
                   (if (and (null items) codellama-ls--step codellama-ls--showing)
                       ;; A next/previous key asked for others and none came:
                       ;; the suggestion shown stays.
                       (progn
                         (setq codellama-ls--step nil
                               codellama-ls--items-invoked t)
                         (message "codellama-ls: no other suggestion"))
                     (codellama-ls--show items (= trigger-kind 1))
                     ;; Asked for by the user: nothing shown deserves a reason.
                     (when (and (= trigger-kind 1) (not codellama-ls--showing))
                       (codellama-ls--explain-empty server))))))))
         :error-fn
         (lambda (error)
           ;; A request we cancelled is no failure of the server: keep it off
           ;; Eglot's mode line, which shows the last error until cleared.
           (when (memq (plist-get error :code) '(-32800 -32801))
             (codellama-ls--forget-error server error))
           (when (funcall current)
             (funcall done)
             ;; RequestCancelled and ContentModified are no news.
             (unless (memq (plist-get error :code) '(-32800 -32801))
               (message "codellama-ls: %s" (plist-get error :message)))))
         :timeout-fn
         (lambda () (when (funcall current) (funcall done)))
         :timeout codellama-ls-request-timeout
         ;; While Eglot still holds edits back, wait for them; a newer
         ;; request from this buffer replaces a deferred older one.
         :deferred 'codellama-ls-inline)
        ;; `jsonrpc-async-request' does not return the id.  When the
        ;; request went out at once it took the next id, which lets a
        ;; newer request cancel it with $/cancelRequest.
        (let ((id (jsonrpc--next-request-id server)))
          (codellama-ls--set-pending
           (list server (and ready (= id (1+ last-id)) id) pos)))))))

(defun codellama-ls--forget-error (server error)
  "Clear ERROR as SERVER's last error, if it still is."
  (when (equal (jsonrpc-last-error server) error)
    (setf (jsonrpc-last-error server) nil)
    (force-mode-line-update t)))

(defun codellama-ls--on-idle (buffer)
  "Ask for a suggestion in BUFFER if it is still being edited."
  (setq codellama-ls--timer nil)
  (when (buffer-live-p buffer)
    (with-current-buffer buffer
      (when (and codellama-ls-inline-mode
                 (eq buffer (window-buffer (selected-window)))
                 (not codellama-ls--showing)
                 (not (minibufferp)))
        (codellama-ls--request 2)))))

(defun codellama-ls--schedule ()
  "Ask for a suggestion after `codellama-ls-idle-delay' idle seconds."
  (when (timerp codellama-ls--timer)
    (cancel-timer codellama-ls--timer))
  (setq codellama-ls--timer
        (run-with-idle-timer codellama-ls-idle-delay nil
                             #'codellama-ls--on-idle (current-buffer))))

;;;; Inline suggestions: hooks

(defun codellama-ls--after-change (&rest _)
  "Drop the suggestion after an edit and schedule a new request."
  (unless codellama-ls--inhibit
    (codellama-ls--dismiss-1)
    (when (and codellama-ls-auto-trigger
               (eq (current-buffer) (window-buffer (selected-window))))
      (codellama-ls--schedule))))

(defun codellama-ls--post-command ()
  "Dismiss the suggestion, or stop its request, if point left its place."
  (unless (memq this-command codellama-ls--own-commands)
    (when (and codellama-ls--showing
               (not (eql (point) codellama-ls--anchor)))
      (codellama-ls--dismiss-1))
    (when (and codellama-ls--pending
               (not (eql (point) (nth 2 codellama-ls--pending))))
      (codellama-ls--cancel-request))))

;;;; Inline suggestions: commands

(defun codellama-ls--dismiss-1 ()
  "Hide and forget the suggestion, and stop any request in flight."
  (codellama-ls--clear-overlay)
  (setq codellama-ls--items nil
        codellama-ls--index 0
        codellama-ls--step nil)
  (codellama-ls--cancel-request))

(defun codellama-ls-dismiss ()
  "Hide the suggestion."
  (interactive)
  (codellama-ls--dismiss-1))

(defun codellama-ls-complete ()
  "Ask for a suggestion at point now."
  (interactive)
  (unless codellama-ls-inline-mode
    (user-error "`codellama-ls-inline-mode' is off"))
  (unless (eglot-current-server)
    (user-error "No Eglot server here"))
  (codellama-ls--dismiss-1)
  (codellama-ls--request 1))

(defun codellama-ls--accept-part (cut)
  "Accept part of the suggestion: CUT maps its ghost text to the part's length.
Return non-nil if something was accepted."
  (when-let* ((item (and codellama-ls--showing
                         (nth codellama-ls--index codellama-ls--items))))
    (pcase-let* ((`(,beg ,end ,text) item)
                 (`(,ghost . ,fit) (codellama-ls--ghost item))
                 (n (if fit (funcall cut ghost) (length ghost))))
      (setq codellama-ls--inhibit t)
      (unwind-protect
          (codellama-ls--insert-part beg end text ghost fit n)
        (setq codellama-ls--inhibit nil))
      ;; All of it is in: the next suggestion follows, as after typing (the
      ;; server has it ready when it saw the accept).
      (when (and (not codellama-ls--showing) codellama-ls-auto-trigger)
        (codellama-ls--schedule))
      t)))

(defun codellama-ls--insert-part (beg end text ghost fit n)
  "Accept N characters of GHOST, the unseen part of TEXT for BEG..END.
FIT is as from `codellama-ls--ghost'."
  (if (or (not fit) (>= n (length ghost)))
      ;; All of it: replace the range with the text.
      (progn
        (codellama-ls--dismiss-1)
        (goto-char beg)
        (delete-region beg end)
        (insert text))
    (goto-char (if (eq fit 'keeps) (point) end))
    (insert (substring ghost 0 n))
    ;; The rest stays on show; other suggestions are out of date.
    (setq codellama-ls--items (list (list beg (+ end n) text))
          codellama-ls--index 0)
    (codellama-ls--render)))

(defun codellama-ls-accept ()
  "Insert the suggestion, replacing its range, and put point after it.
Without a suggestion, do what the key would do otherwise."
  (interactive)
  (unless (codellama-ls--accept-part #'length)
    (codellama-ls--fallback)))

(defun codellama-ls-accept-line ()
  "Insert the suggestion up to the end of its first line."
  (interactive)
  (unless (codellama-ls--accept-part
           (lambda (ghost)
             ;; A leading newline goes with the line after it.
             (or (string-search "\n" ghost 1) (length ghost))))
    (codellama-ls--fallback)))

(defun codellama-ls-accept-word ()
  "Insert the suggestion up to the end of its next word."
  (interactive)
  (unless (codellama-ls--accept-part
           (lambda (ghost)
             (with-temp-buffer
               (insert ghost)
               (goto-char (point-min))
               (forward-word 1)
               (1- (point)))))
    (codellama-ls--fallback)))

(defun codellama-ls--fallback ()
  "Run what this command's key does when no suggestion is shown."
  (let ((keys (this-command-keys-vector)))
    ;; Only for a key of the suggestion map, not for M-x and the like.
    (when (and (> (length keys) 0)
               (eq (lookup-key codellama-ls-suggestion-map keys) this-command))
      (let* ((codellama-ls--showing nil)
             (command (key-binding keys t)))
        (when (and (commandp command)
                   (not (memq command codellama-ls--own-commands)))
          (setq this-command command)
          (call-interactively command))))))

(defun codellama-ls--cycle (step)
  "Show the suggestion STEP places away from the current one.
An automatic request brought one suggestion: ask explicitly, for the
alternatives, and show the one STEP places from the first."
  (cond
   ((not codellama-ls--showing) (codellama-ls-complete))
   ((cdr codellama-ls--items)
    (setq codellama-ls--index
          (mod (+ codellama-ls--index step) (length codellama-ls--items)))
    (codellama-ls--render)
    (codellama-ls--say-count))
   ((not codellama-ls--items-invoked)
    ;; The ghost stays until the answer replaces it.
    (setq codellama-ls--step step)
    (codellama-ls--request 1))
   (t (message "codellama-ls: no other suggestion"))))

(defun codellama-ls-next ()
  "Show the next suggestion, or ask for one if none is shown."
  (interactive)
  (codellama-ls--cycle 1))

(defun codellama-ls-previous ()
  "Show the previous suggestion, or ask for one if none is shown."
  (interactive)
  (codellama-ls--cycle -1))

;;;; Next-edit suggestions

;; After an edit pause the server may propose a change a few lines away (the next use of a
;; renamed parameter, say): request codellama/nextEdit, result (:edits [(:id :range :text
;; :textDocument (:uri :version))]), and the notifications codellama/nextEditShown,
;; nextEditAccepted and nextEditRejected, each (:id).  The edit is drawn where it would go:
;; the text it replaces in `codellama-ls-next-edit-deleted-face', the new text after it in
;; `codellama-ls-next-edit-added-face'.  TAB jumps there, TAB again applies it, C-g dismisses it.
;; An answer is used only for the text it was computed for, and a shown edit goes away at the
;; buffer's next change: an edit never lands in text that moved on.

(defcustom codellama-ls-next-edit t
  "Whether `codellama-ls-inline-mode' asks for next-edit suggestions after edits.
The server proposes them only with its `nextEdit' setting on."
  :type 'boolean)

(defcustom codellama-ls-next-edit-delay 0.4
  "Seconds of idle time after an edit before asking for a next edit."
  :type 'number)

(defface codellama-ls-next-edit-deleted-face
  '((((class color) (min-colors 88) (background dark)) :background "#553333" :strike-through t)
    (((class color) (min-colors 88)) :background "#ffdddd" :strike-through t)
    (t :inherit error :strike-through t))
  "Face of the text a proposed next edit replaces.")

(defface codellama-ls-next-edit-added-face
  '((((class color) (min-colors 88) (background dark)) :background "#335533")
    (((class color) (min-colors 88)) :background "#ddffdd")
    (t :inherit success))
  "Face of the text a proposed next edit puts in.")

(defvar-local codellama-ls--next-edit nil
  "The shown next edit: a plist (:id :beg :end :text :old :tick :server).
BEG and END are markers.")

(defvar-local codellama-ls--next-edit-showing nil
  "Non-nil while a next edit is shown; activates `codellama-ls-next-edit-map'.")

(defvar-local codellama-ls--next-edit-overlays nil
  "Overlays that draw the shown next edit.")

(defvar-local codellama-ls--next-edit-pending nil
  "The next-edit request in flight: (SERVER ID TICK), ID nil if unknown.")

(defvar-local codellama-ls--next-edit-unsupported nil
  "Non-nil once the server said it does not know codellama/nextEdit.")

(defvar codellama-ls--next-edit-timer nil
  "Idle timer that asks for a next edit after edits.")

(defun codellama-ls--next-edit-clear ()
  "Erase and forget the shown next edit (the server is told nothing)."
  (mapc #'delete-overlay codellama-ls--next-edit-overlays)
  (when codellama-ls--next-edit
    (set-marker (plist-get codellama-ls--next-edit :beg) nil)
    (set-marker (plist-get codellama-ls--next-edit :end) nil))
  (setq codellama-ls--next-edit-overlays nil
        codellama-ls--next-edit nil
        codellama-ls--next-edit-showing nil))

(defun codellama-ls--next-edit-cancel ()
  "Forget the next-edit request in flight and ask the server to stop it."
  (pcase codellama-ls--next-edit-pending
    (`(,server ,id ,_)
     (when (and id (jsonrpc-running-p server))
       (jsonrpc-notify server :$/cancelRequest (list :id id)))))
  (setq codellama-ls--next-edit-pending nil))

(defun codellama-ls--next-edit-current ()
  "The shown next edit, if the buffer has not changed since it was shown."
  (and codellama-ls--next-edit
       (= (plist-get codellama-ls--next-edit :tick) (buffer-chars-modified-tick))
       codellama-ls--next-edit))

(defun codellama-ls--next-edit-notify (edit method)
  "Tell EDIT's server METHOD (a keyword) about EDIT."
  (let ((server (plist-get edit :server)))
    (when (and server (jsonrpc-running-p server) (plist-get edit :id))
      (jsonrpc-notify server method (list :id (plist-get edit :id))))))

(defun codellama-ls--next-edit-draw (beg end text)
  "Draw the edit of BEG..END into TEXT as a diff; return its overlays.
The replaced text is struck through; the new text goes after it when
both are one line, as lines where whole lines go in, and otherwise as
the lines will read, below the last line the edit touches."
  (let ((overlays nil)
        (one-line (not (or (string-search "\n" text)
                           (string-search "\n" (buffer-substring-no-properties beg end))))))
    (when (< beg end)
      (let ((ov (make-overlay beg end nil t nil)))
        (overlay-put ov 'face 'codellama-ls-next-edit-deleted-face)
        (push ov overlays)))
    (unless (string-empty-p text)
      (pcase-let* ((`(,at ,property ,shown)
                    (save-excursion
                      (goto-char beg)
                      (cond
                       (one-line (list end 'after-string text))
                       ((and (= beg end) (bolp) (string-suffix-p "\n" text))
                        (list beg 'before-string text))
                       ((and (= beg end) (eolp) (string-prefix-p "\n" text))
                        (list beg 'after-string text))
                       (t (let ((eol (save-excursion (goto-char end) (line-end-position))))
                            (list eol 'after-string
                                  (concat "\n" (buffer-substring-no-properties (line-beginning-position) beg)
                                          text (buffer-substring-no-properties end eol))))))))
                   (ov (make-overlay at at nil nil nil)))
        (overlay-put ov property (propertize shown 'face 'codellama-ls-next-edit-added-face))
        (push ov overlays)))
    (dolist (ov overlays)
      (overlay-put ov 'codellama-ls-next-edit t)
      (overlay-put ov 'priority 900))
    overlays))

(defun codellama-ls--next-edit-usable (result)
  "The first edit of RESULT for this buffer as it is now: (EDIT BEG END), else nil."
  (let ((uri (plist-get (eglot--TextDocumentIdentifier) :uri))
        (lines (1+ (count-lines (point-min) (point-max))))
        found)
    (seq-doseq (edit (or (plist-get result :edits) []))
      (let* ((doc (plist-get edit :textDocument))
             (range (plist-get edit :range))
             (start (plist-get range :start))
             (end (plist-get range :end)))
        (when (and (not found)
                   (equal (plist-get doc :uri) uri)
                   (equal (plist-get doc :version) eglot--versioned-identifier)
                   (stringp (plist-get edit :text))
                   (integerp (plist-get start :line)) (integerp (plist-get end :line))
                   (< -1 (plist-get start :line) lines) (< -1 (plist-get end :line) lines))
          (pcase-let ((`(,beg . ,end) (codellama-ls--range-region range)))
            (when (and (<= beg end)
                       (not (equal (buffer-substring-no-properties beg end) (plist-get edit :text))))
              (setq found (list edit beg end)))))))
    found))

(defun codellama-ls--next-edit-show (server result tick)
  "Show the first usable edit of SERVER's RESULT, computed at TICK."
  (when-let* (((= tick (buffer-chars-modified-tick)))
              (found (codellama-ls--next-edit-usable result)))
    (pcase-let ((`(,edit ,beg ,end) found))
      (codellama-ls--next-edit-clear)
      (setq codellama-ls--next-edit
            (list :id (plist-get edit :id)
                  :beg (copy-marker beg) :end (copy-marker end t)
                  :text (plist-get edit :text)
                  :old (buffer-substring-no-properties beg end)
                  :tick tick :server server)
            codellama-ls--next-edit-overlays (codellama-ls--next-edit-draw beg end (plist-get edit :text))
            codellama-ls--next-edit-showing t)
      (codellama-ls--next-edit-notify codellama-ls--next-edit :codellama/nextEditShown))))

(defun codellama-ls-next-edit-request ()
  "Ask the server for a next edit at point now."
  (interactive)
  (when-let* ((server (eglot-current-server)))
    (codellama-ls--next-edit-cancel)
    (eglot--signal-textDocument/didChange)
    (let* ((buffer (current-buffer))
           (tick (buffer-chars-modified-tick))
           (ready (jsonrpc-connection-ready-p server 'codellama-ls-next-edit))
           (last-id (jsonrpc--next-request-id server))
           (request nil)
           (current (lambda ()
                      (and (buffer-live-p buffer)
                           (eq request (buffer-local-value 'codellama-ls--next-edit-pending buffer))))))
      (jsonrpc-async-request
       server :codellama/nextEdit
       (list :textDocument (eglot--VersionedTextDocumentIdentifier)
             :position (eglot--pos-to-lsp-position))
       :success-fn
       (lambda (result)
         (when (funcall current)
           (with-current-buffer buffer
             (setq codellama-ls--next-edit-pending nil)
             (codellama-ls--next-edit-show server result tick))))
       :error-fn
       (lambda (error)
         (when (memq (plist-get error :code) '(-32800 -32801 -32601))
           (codellama-ls--forget-error server error))
         (when (funcall current)
           (with-current-buffer buffer
             (setq codellama-ls--next-edit-pending nil)
             (when (eql (plist-get error :code) -32601)
               (setq codellama-ls--next-edit-unsupported t)))))
       :timeout-fn
       (lambda () (when (funcall current)
                    (with-current-buffer buffer (setq codellama-ls--next-edit-pending nil))))
       :timeout codellama-ls-request-timeout)
      (let ((id (jsonrpc--next-request-id server)))
        (setq request (list server (and ready (= id (1+ last-id)) id) tick)
              codellama-ls--next-edit-pending request)))))

(defun codellama-ls--next-edit-on-idle (buffer)
  "Ask for a next edit in BUFFER if it is still the one being edited."
  (setq codellama-ls--next-edit-timer nil)
  (when (buffer-live-p buffer)
    (with-current-buffer buffer
      (when (and codellama-ls-inline-mode
                 codellama-ls-next-edit
                 (not codellama-ls--next-edit-unsupported)
                 (eq buffer (window-buffer (selected-window)))
                 (not (minibufferp)))
        (codellama-ls-next-edit-request)))))

(defun codellama-ls--next-edit-after-change (&rest _)
  "Drop the shown next edit, whose text is gone, and ask again after a pause."
  (let ((tick (buffer-chars-modified-tick)))
    ;; Text properties changed, not the text: nothing to drop or ask.
    (when (or (and codellama-ls--next-edit (/= tick (plist-get codellama-ls--next-edit :tick)))
              (and codellama-ls--next-edit-pending (/= tick (nth 2 codellama-ls--next-edit-pending))))
      (codellama-ls--next-edit-clear)
      (codellama-ls--next-edit-cancel)))
  (when (and codellama-ls-next-edit
             (not codellama-ls--next-edit-unsupported)
             (eq (current-buffer) (window-buffer (selected-window))))
    (when (timerp codellama-ls--next-edit-timer)
      (cancel-timer codellama-ls--next-edit-timer))
    (setq codellama-ls--next-edit-timer
          (run-with-idle-timer codellama-ls-next-edit-delay nil
                               #'codellama-ls--next-edit-on-idle (current-buffer)))))

(defun codellama-ls-next-edit-jump-or-accept ()
  "Go to the shown next edit; there, apply it.
Without one, do what the key would do otherwise."
  (interactive)
  (if-let* ((edit (codellama-ls--next-edit-current)))
      (if (/= (point) (plist-get edit :beg))
          (progn (push-mark nil t)
                 (goto-char (plist-get edit :beg)))
        (codellama-ls-next-edit-accept))
    (codellama-ls--next-edit-clear)
    (codellama-ls--next-edit-fallback)))

(defun codellama-ls-next-edit-accept ()
  "Apply the shown next edit and put point after it; nil if there is none."
  (interactive)
  (when-let* ((edit (codellama-ls--next-edit-current)))
    (let ((beg (marker-position (plist-get edit :beg)))
          (end (marker-position (plist-get edit :end))))
      (codellama-ls--next-edit-clear)
      ;; Checked again: the range still holds the text the edit was computed for.
      (when (equal (buffer-substring-no-properties beg end) (plist-get edit :old))
        (goto-char beg)
        (delete-region beg end)
        (insert (plist-get edit :text))
        (codellama-ls--next-edit-notify edit :codellama/nextEditAccepted)
        t))))

(defun codellama-ls-next-edit-dismiss ()
  "Hide the shown next edit and tell the server it was rejected."
  (interactive)
  (let ((edit (codellama-ls--next-edit-current)))
    (codellama-ls--next-edit-clear)
    (if edit
        (codellama-ls--next-edit-notify edit :codellama/nextEditRejected)
      (codellama-ls--next-edit-fallback))))

(defun codellama-ls--next-edit-fallback ()
  "Run what this command's key does when no next edit is shown."
  (let ((keys (this-command-keys-vector)))
    (when (and (> (length keys) 0)
               (eq (lookup-key codellama-ls-next-edit-map keys) this-command))
      (let* ((codellama-ls--next-edit-showing nil)
             (command (key-binding keys t)))
        (when (and (commandp command) (not (eq command this-command)))
          (setq this-command command)
          (call-interactively command))))))

;;;; Code actions

;; Explain, doc comment, tests and edit by instruction are code actions of the
;; server: `eglot-code-actions' (C-c C-a in many setups) lists them, and each one
;; applies its edit itself.  Edit by instruction carries a command that the
;; editor implements: ask for the instruction, then run the server's edit.

(defconst codellama-ls--prompt-command "codellama.editWithInstruction"
  "The client-side command of the edit by instruction action.")

(defcustom codellama-ls-instruction-prompt "Code Llama, change this code: "
  "Prompt for the instruction of \='edit by instruction\='."
  :type 'string)

(defun codellama-ls--with-instruction (arguments)
  "ARGUMENTS of the prompting command as those of `codellama.edit'.
Ask for the instruction; nil if the user gave none."
  (let ((instruction (read-string codellama-ls-instruction-prompt)))
    (unless (string-blank-p instruction)
      (let ((first (and (> (length arguments) 0) (aref arguments 0))))
        (vector (plist-put (copy-sequence first) :instruction instruction))))))

(when (fboundp 'eglot-execute)          ; Emacs 30 and later
  (cl-defmethod eglot-execute :around (server action)
    "Ask for the instruction before codellama-ls's edit by instruction.
SERVER and ACTION as for `eglot-execute'."
    (if (equal (plist-get action :command) codellama-ls--prompt-command)
        (let ((arguments (codellama-ls--with-instruction (plist-get action :arguments))))
          (when arguments
            (cl-call-next-method server (list :command "codellama.edit" :arguments arguments))))
      (cl-call-next-method))))

(with-suppressed-warnings ((obsolete eglot-execute-command))
  (cl-defmethod eglot-execute-command :around (server command arguments)
    "Ask for the instruction before codellama-ls's edit by instruction (Emacs 29).
SERVER, COMMAND and ARGUMENTS as for `eglot-execute-command'."
    (if (equal command codellama-ls--prompt-command)
        (let ((arguments (codellama-ls--with-instruction arguments)))
          (when arguments
            (cl-call-next-method server "codellama.edit" arguments)))
      (cl-call-next-method))))

;;;; The minor mode

;;;###autoload
(define-minor-mode codellama-ls-inline-mode
  "Show codellama-ls suggestions as ghost text after point.
Needs an Eglot connection to a server that offers
textDocument/inlineCompletion.  Suggestions come after
`codellama-ls-idle-delay' seconds of idle time following an edit,
or at once with \\[codellama-ls-complete].  While one is shown:

\\{codellama-ls-suggestion-map}"
  :lighter (:eval (codellama-ls--lighter))
  :keymap codellama-ls-inline-mode-map
  (if codellama-ls-inline-mode
      (progn
        (add-to-list 'emulation-mode-map-alists 'codellama-ls--emulation-alist)
        (add-hook 'after-change-functions #'codellama-ls--after-change nil t)
        (add-hook 'after-change-functions #'codellama-ls--next-edit-after-change nil t)
        (add-hook 'post-command-hook #'codellama-ls--post-command nil t))
    (remove-hook 'after-change-functions #'codellama-ls--after-change t)
    (remove-hook 'after-change-functions #'codellama-ls--next-edit-after-change t)
    (remove-hook 'post-command-hook #'codellama-ls--post-command t)
    (codellama-ls--dismiss-1)
    (codellama-ls--next-edit-clear)
    (codellama-ls--next-edit-cancel)))

(defun codellama-ls--maybe-inline-mode ()
  "Turn `codellama-ls-inline-mode' on or off with Eglot's management."
  (cond
   ((not (eglot-managed-p))
    (when codellama-ls-inline-mode (codellama-ls-inline-mode -1)))
   ((and codellama-ls-inline-auto
         (codellama-ls--server-capable :inlineCompletionProvider))
    (codellama-ls-inline-mode 1))))

(defun codellama-ls-unload-function ()
  "Undo what loading codellama-ls did, for `unload-feature'."
  (dolist (buffer (buffer-list))
    (with-current-buffer buffer
      (when codellama-ls-inline-mode (codellama-ls-inline-mode -1))))
  (remove-hook 'eglot-managed-mode-hook #'codellama-ls--maybe-inline-mode)
  (setq emulation-mode-map-alists
        (delq 'codellama-ls--emulation-alist emulation-mode-map-alists))
  (codellama-ls--remove-server-program)
  ;; Let `unload-feature' do the rest.
  nil)

(defun codellama-ls--remove-server-program ()
  "Take codellama-ls out of `eglot-server-programs'."
  (setq eglot-server-programs
        (cl-remove #'codellama-ls--contact eglot-server-programs :key #'cdr-safe)))

;;;###autoload
(define-minor-mode codellama-ls-mode
  "Use codellama-ls with Eglot.
When on, \\[eglot] or `eglot-ensure' in a buffer of one of
`codellama-ls-major-modes' starts `codellama-ls-command', and
`codellama-ls-inline-mode' turns itself on in the buffers it
manages (see `codellama-ls-inline-auto')."
  :global t
  :group 'codellama-ls
  (if codellama-ls-mode
      (progn
        (codellama-ls-eglot-setup)
        (add-hook 'eglot-managed-mode-hook #'codellama-ls--maybe-inline-mode))
    (remove-hook 'eglot-managed-mode-hook #'codellama-ls--maybe-inline-mode)
    (codellama-ls--remove-server-program)))

(provide 'codellama-ls)
;;; codellama-ls.el ends here
