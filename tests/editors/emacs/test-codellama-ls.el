;;; test-codellama-ls.el --- Batch test of codellama-ls.el against the real server  -*- lexical-binding: t; -*-

;;; Commentary:

;; Run by tests/editors/test_emacs.py as
;;
;;   emacs --batch -Q -l editors/emacs/codellama-ls.el -l tests/editors/emacs/test-codellama-ls.el
;;
;; with `codellama-ls' on PATH, CODELLAMA_LS_MODEL naming a generated
;; test model whose every completion is "urn x", and
;; CODELLAMA_LS_TEST_FILE naming the Python file to edit (see the
;; pytest for its text).  Every check prints PASS or FAIL; Emacs exits
;; with status 0 only if all of them passed, after saving the file.

;;; Code:

(require 'cl-lib)
(require 'codellama-ls)
(require 'python)

(defvar clt-failures 0 "Number of failed checks.")
(defvar clt-checks 0 "Number of checks run.")
(defvar clt-start (float-time) "When the test began.")

(defun clt-log (format-string &rest args)
  "Print FORMAT-STRING with ARGS, prefixed by the seconds since the start."
  (message "[%5.1fs] %s" (- (float-time) clt-start) (apply #'format format-string args)))

(defun clt-check (what ok &optional detail)
  "Record the check WHAT, passed if OK; print DETAIL when it failed."
  (cl-incf clt-checks)
  (unless ok (cl-incf clt-failures))
  (clt-log "%s %s%s" (if ok "PASS" "FAIL") what (if ok "" (format " -- got %S" detail)))
  ok)

(defun clt-equal (what expected actual)
  "Check WHAT: ACTUAL equals EXPECTED."
  (clt-check what (equal expected actual) (list :expected expected :actual actual)))

(defun clt-wait (predicate seconds)
  "Process output until PREDICATE is non-nil or SECONDS pass; return its value."
  (let ((deadline (+ (float-time) seconds))
        value)
    (while (and (not (setq value (funcall predicate)))
                (< (float-time) deadline))
      (accept-process-output nil 0.05))
    value))

(defun clt-line ()
  "The text of the current line."
  (buffer-substring-no-properties (line-beginning-position) (line-end-position)))

(defun clt-goto-line-end (n)
  "Go to the end of line N."
  (goto-char (point-min))
  (forward-line (1- n))
  (end-of-line))

(defun clt-type (string)
  "Insert STRING as if typed, one command per character."
  (execute-kbd-macro (string-to-vector string)))

(defun clt-fire-idle-timer ()
  "Run the idle timer the last edit scheduled, as an idle Emacs would.
Batch Emacs is never idle, so idle timers do not fire by themselves."
  (let ((timer codellama-ls--timer))
    (when (clt-check "an edit scheduled an idle request" (timerp timer) timer)
      (timer-event-handler timer))))

(defun clt-cancel-idle-timer ()
  "Cancel the idle request the last edit scheduled."
  (when (timerp codellama-ls--timer)
    (cancel-timer codellama-ls--timer)
    (setq codellama-ls--timer nil)))

(defvar clt-encoding (let ((value (getenv "CODELLAMA_LS_TEST_ENCODING")))
                       (and value (not (string-empty-p value)) value))
  "The only position encoding Eglot is to offer, or nil for Eglot's own list.")

(defun clt-offer-only-encoding (capabilities)
  "CAPABILITIES with `clt-encoding' as the only position encoding offered."
  (if (not clt-encoding)
      capabilities
    (let ((copy (copy-sequence capabilities)))
      (plist-put copy :general
                 (plist-put (copy-sequence (plist-get copy :general))
                            :positionEncodings (vector clt-encoding))))))

(advice-add 'eglot-client-capabilities :filter-return #'clt-offer-only-encoding)

(defvar clt-cancelled nil "Ids of the requests cancelled with $/cancelRequest, newest first.")

(defun clt-record-cancel (_connection &rest args)
  "Record the id of a $/cancelRequest notification sent with ARGS."
  (when (member (plist-get args :method) '(:$/cancelRequest "$/cancelRequest"))
    (push (plist-get (plist-get args :params) :id) clt-cancelled)))

(advice-add 'jsonrpc-connection-send :before #'clt-record-cancel)

(defun clt-awaiting-reply-p (server id)
  "Whether SERVER's connection still waits for the reply to request ID."
  (if (fboundp 'jsonrpc--continuations)         ; jsonrpc 1.0.24 (Emacs 30)
      (assq id (funcall 'jsonrpc--continuations server))
    (gethash id (with-no-warnings (jsonrpc--request-continuations server)))))

(defun clt-messages-count (prefix)
  "How many lines of *Messages* start with PREFIX."
  (with-current-buffer (messages-buffer)
    (how-many (concat "^" (regexp-quote prefix)) (point-min) (point-max))))

(defun clt-dump-events ()
  "Print the tail of the Eglot events buffer."
  (when-let* ((server (ignore-errors (eglot-current-server)))
              (events (jsonrpc-events-buffer server)))
    (with-current-buffer events
      (message "---- Eglot events (tail) ----\n%s"
               (buffer-substring-no-properties (max (point-min) (- (point-max) 6000))
                                               (point-max))))))

(defun clt-run ()
  "Run all checks in the buffer of CODELLAMA_LS_TEST_FILE."
  (let ((file (getenv "CODELLAMA_LS_TEST_FILE")))
    (find-file file)
    (switch-to-buffer (current-buffer))
    (clt-equal "the file opens in python-mode" 'python-mode major-mode)

    ;; ---- Start Eglot non-interactively, as `eglot-ensure' would. ----
    (apply #'eglot (eglot--guess-contact))
    (let ((server (clt-wait #'eglot-current-server 30)))
      (unless (clt-check "eglot connected to codellama-ls" server)
        (error "No server"))
      (clt-equal "the server is codellama-ls" "codellama-ls"
                 (plist-get (eglot--server-info server) :name))
      (clt-check "codellama-ls-inline-mode turned itself on" codellama-ls-inline-mode)
      (let ((status (clt-wait (lambda ()
                                (let ((status (codellama-ls-status server)))
                                  (and (member (plist-get status :state) '("ready" "failed"))
                                       status)))
                              45)))
        (unless (clt-equal "the model loaded" "ready" (plist-get status :state))
          (error "Model not ready: %S" status))
        (clt-log "position encoding: %s" (plist-get status :position_encoding))
        (when clt-encoding
          (clt-equal "the position encoding Eglot offered was chosen" clt-encoding
                     (plist-get status :position_encoding)))
        (clt-equal "initializationOptions reached the server" 4
                   (plist-get (plist-get status :settings) :max_lines))
        (clt-equal "eglot-workspace-configuration reached the server" 32
                   (plist-get (plist-get status :settings) :max_tokens))))

    ;; ---- Inline suggestion after typing, through the idle timer. ----
    ;; Line 2 is "    " in `smile'.  The emoji takes two UTF-16 code
    ;; units but one Emacs character, so columns must be converted.
    (clt-goto-line-end 2)
    (clt-type "x = \"😀\"; ret")
    (clt-fire-idle-timer)
    (clt-check "the request went out" codellama-ls--pending)
    ;; Until the reply came (then it is shown or dropped).
    (clt-wait (lambda () (or (codellama-ls-current-suggestion) (not codellama-ls--pending))) 30)
    (clt-equal "the ghost text is the model's completion" "urn x"
               (codellama-ls-current-suggestion))
    (clt-equal "the ghost text is shown at point" (point)
               (and codellama-ls--overlay (overlay-start codellama-ls--overlay)))
    (clt-equal "the buffer itself is unchanged" "    x = \"😀\"; ret" (clt-line))
    (clt-equal "TAB accepts while a suggestion is shown" 'codellama-ls-accept
               (key-binding (kbd "TAB")))
    (execute-kbd-macro (kbd "TAB"))
    (clt-equal "accepting inserted the suggestion" "    x = \"😀\"; return x" (clt-line))
    (clt-check "point is after the inserted text" (eolp) (point))
    (clt-check "the suggestion is gone after accepting"
               (not (codellama-ls-current-suggestion)))
    (clt-check "TAB does its usual job again"
               (not (eq (key-binding (kbd "TAB")) 'codellama-ls-accept))
               (key-binding (kbd "TAB")))
    (clt-cancel-idle-timer)

    ;; ---- A request made before an edit is cancelled; its reply is not shown. ----
    (clt-goto-line-end 5)
    (let* ((server (eglot-current-server))
           (messages (clt-messages-count "codellama-ls: "))
           (id (progn (codellama-ls-complete) (nth 1 codellama-ls--pending))))
      (clt-check "the request went out with a known id" (integerp id) codellama-ls--pending)
      ;; Batch Emacs formats no mode line: the lighter's :eval form is checked instead.
      (clt-equal "the mode line shows the lighter's function"
                 '(codellama-ls-inline-mode (:eval (codellama-ls--lighter)))
                 (assq 'codellama-ls-inline-mode minor-mode-alist))
      (clt-equal "the mode line says a suggestion is being computed" " CL…" (codellama-ls--lighter))
      (setq clt-cancelled nil)
      (clt-type "#")
      (clt-equal "the edit sent $/cancelRequest for it" (list id) clt-cancelled)
      (clt-check "its reply (result or cancellation error) came"
                 (clt-wait (lambda () (not (clt-awaiting-reply-p server id))) 30))
      (accept-process-output nil 0.1)
      (clt-check "a stale reply shows nothing" (not (codellama-ls-current-suggestion))
                 (codellama-ls-current-suggestion))
      (clt-equal "a cancelled request is not reported as an error" messages
                 (clt-messages-count "codellama-ls: "))
      (clt-equal "the mode line is back to normal" " CL" (codellama-ls--lighter)))
    (clt-type "\C-?")                 ; DEL: undo the edit.
    (clt-cancel-idle-timer)

    ;; ---- completion-at-point through Eglot's textDocument/completion. ----
    (clt-goto-line-end 5)
    (clt-type "y = \"😉\"; ret")
    (clt-cancel-idle-timer)
    (let* ((capf (eglot-completion-at-point))
           (beg (nth 0 capf))
           (end (nth 1 capf))
           (candidates (and capf (all-completions (buffer-substring beg end) (nth 2 capf)))))
      (clt-equal "eglot's capf covers the word before point" "ret"
                 (and capf (buffer-substring-no-properties beg end)))
      (clt-equal "the server's candidate is offered" '("return x")
                 (mapcar #'substring-no-properties candidates)))
    (completion-at-point)
    (clt-equal "completion-at-point applied the server's textEdit"
               "    y = \"😉\"; return x" (clt-line))
    (clt-check "point is after the completion" (eolp) (point))
    (clt-cancel-idle-timer)

    ;; ---- Multi-line ghost text, partial accepts, dismissing. ----
    ;; The test model only says "urn x", so this suggestion is made up.
    (goto-char (point-max))
    (codellama-ls--show (list (list (point) (point) "total = add(1, 2)\nprint(total)\n")))
    (let ((shown (overlay-get codellama-ls--overlay 'after-string)))
      (clt-equal "multi-line ghost text is one after-string"
                 "total = add(1, 2)\nprint(total)\n" (substring-no-properties shown))
      (clt-equal "the ghost text has the ghost face" 'codellama-ls-ghost-face
                 (get-text-property 0 'face shown))
      (clt-check "the cursor stays before the ghost text" (get-text-property 0 'cursor shown)))
    (execute-kbd-macro (kbd "M-f"))
    (clt-equal "M-f accepts a word" "total" (clt-line))
    (clt-equal "the rest is still shown" " = add(1, 2)\nprint(total)\n"
               (codellama-ls-current-suggestion))
    (execute-kbd-macro (kbd "M-RET"))
    (clt-equal "M-RET accepts a line" "total = add(1, 2)" (clt-line))
    (clt-equal "the next lines are still shown" "\nprint(total)\n"
               (codellama-ls-current-suggestion))
    (let ((shown (overlay-get codellama-ls--overlay 'after-string)))
      (clt-equal "ghost text starting a line has a blank for the cursor"
                 " \nprint(total)\n" (substring-no-properties shown))
      (clt-check "the cursor sits on that blank" (get-text-property 0 'cursor shown)))
    (execute-kbd-macro (kbd "M-n"))
    (clt-equal "M-n with a single suggestion keeps it" "\nprint(total)\n"
               (codellama-ls-current-suggestion))
    (execute-kbd-macro (kbd "M-RET"))
    (clt-equal "M-RET takes a leading newline with its line" "print(total)" (clt-line))
    (execute-kbd-macro (kbd "TAB"))
    (clt-check "TAB accepts the rest" (and (bolp) (eobp)) (point))
    (clt-check "nothing is shown after the last accept"
               (not (codellama-ls-current-suggestion)))

    (let ((before (buffer-string)))
      (codellama-ls--show (list (list (point) (point) "pass")))
      (execute-kbd-macro (kbd "C-g"))
      (clt-check "C-g dismisses" (not (codellama-ls-current-suggestion)))
      (codellama-ls--show (list (list (point) (point) "pass")))
      (execute-kbd-macro (kbd "C-b"))
      (clt-check "moving point dismisses" (not (codellama-ls-current-suggestion)))
      (clt-equal "dismissing leaves the text alone" before (buffer-string))
      (goto-char (point-max))
      (codellama-ls--show (list (list (point) (point) "x\ny")
                                (list (point) (point) "z")))
      (execute-kbd-macro (kbd "M-n"))
      (clt-equal "M-n shows the next suggestion" "z" (codellama-ls-current-suggestion))
      (execute-kbd-macro (kbd "M-p"))
      (clt-equal "M-p shows the previous one" "x\ny" (codellama-ls-current-suggestion))
      (codellama-ls-inline-mode -1)
      (clt-check "turning the mode off hides the suggestion"
                 (not (codellama-ls-current-suggestion)))
      (clt-equal "and leaves the text alone" before (buffer-string)))

    (save-buffer)))

(codellama-ls-mode 1)
(setq eglot-sync-connect 30
      eglot-connect-timeout 60
      eglot-autoreconnect nil
      codellama-ls-initialization-options '(:nCtx 2048 :nGpuLayers 0 :maxLines 4)
      python-indent-guess-indent-offset nil
      confirm-kill-processes nil
      make-backup-files nil)
;; Sent with workspace/didChangeConfiguration, under the "codellama" section.
(setq-default eglot-workspace-configuration '(:codellama (:maxTokens 32)))
;; Nothing may ever wait for an answer from a user.
(fset 'yes-or-no-p (lambda (&rest _) t))
(fset 'y-or-n-p (lambda (&rest _) t))

(condition-case err
    (clt-run)
  (error
   (cl-incf clt-failures)
   (clt-log "ERROR %S" err)))
(when (> clt-failures 0)
  (clt-dump-events))
(ignore-errors
  (let ((server (with-current-buffer (get-file-buffer (getenv "CODELLAMA_LS_TEST_FILE"))
                  (eglot-current-server))))
    (when server (eglot-shutdown server nil 5))))
(clt-log "%d checks, %d failed" clt-checks clt-failures)
(kill-emacs (if (zerop clt-failures) 0 1))

;;; test-codellama-ls.el ends here
