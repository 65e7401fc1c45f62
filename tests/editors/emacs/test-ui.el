;;; test-ui.el --- what the mode line and the ghost text show, against the scripted server  -*- lexical-binding: t; -*-

;;; Commentary:

;; emacs --batch -Q -l editors/emacs/codellama-ls.el -l tests/editors/emacs/test-ui.el
;; with CODELLAMA_LS_TEST_FILE a Python file ("x = f()\n\n") and CODELLAMA_LS_TEST_SERVER the
;; scripted server's command as JSON; every suggestion is "a, b)".  Prints PASS or FAIL
;; lines; exits with status 1 on any failure.

;;; Code:

(require 'cl-lib)
(require 'codellama-ls)
(require 'python)

(load (expand-file-name "test-support" (file-name-directory load-file-name)) nil t)

(defvar ctu-lighters nil "The lighter's text after each $/progress from the server.")
(defvar ctu-buffer nil "The buffer under test.")

(defun ctu-record-progress (&rest args)
  "After a $/progress (ARGS as for `eglot-handle-notification'), note what the lighter says."
  (when (eq (nth 1 args) '$/progress)
    (push (or (codellama-ls--progress-text (car args)) "") ctu-lighters)))

(defun ctu-ask ()
  "Ask for a suggestion at point, as \\[codellama-ls-complete], and wait for it."
  (execute-kbd-macro (kbd "C-c /"))
  (cls-test-wait (lambda () codellama-ls--showing) 20))

(defun ctu-run ()
  "The checks, one by one."
  (advice-add 'eglot-handle-notification :after #'ctu-record-progress)
  (find-file (getenv "CODELLAMA_LS_TEST_FILE"))
  (switch-to-buffer (current-buffer))
  (setq ctu-buffer (current-buffer))
  (apply #'eglot (eglot--guess-contact))
  (let* ((server (or (cls-test-wait #'eglot-current-server 30) (error "No server")))
         (status (cls-test-wait (lambda ()
                                  (let ((status (codellama-ls-status server)))
                                    (and (member (plist-get status :state) '("ready" "failed")) status)))
                                45)))
    (cls-test-check "the model is ready" (equal "ready" (plist-get status :state)) status)
    (cls-test-wait (lambda () (and codellama-ls-inline-mode (null (codellama-ls--progress-text server)))) 10)
    ;; Loading: the lighter says so in words; Eglot's indicator has only a percentage.
    (cls-test-check "the lighter said the model was loading"
                    (cl-some (lambda (text) (string-match-p "Loading model" text)) ctu-lighters)
                    ctu-lighters)

    ;; Mid-line, the suggestion keeps the `)' the editor paired: the ghost goes before it, and
    ;; the `)' is not drawn as replaced.
    (goto-char (point-min))
    (search-forward "(")
    (cls-test-check "a suggestion mid-line" (ctu-ask))
    (let ((ov codellama-ls--overlay))
      (cls-test-check "the ghost is the text before the kept closer"
                      (equal "a, b" (codellama-ls-current-suggestion))
                      (codellama-ls-current-suggestion))
      (cls-test-check "the closer is not struck through"
                      (and (overlayp ov) (null (overlay-get ov 'face)))
                      (and (overlayp ov) (overlay-get ov 'face)))
      (cls-test-check "the ghost is drawn at point"
                      (and (overlayp ov) (= (overlay-start ov) (point)))
                      (and (overlayp ov) (list (overlay-start ov) (point)))))
    (execute-kbd-macro (kbd "M-f"))
    (cls-test-check "a word of it goes in before the closer"
                    (equal "x = f(a)" (buffer-substring-no-properties (line-beginning-position) (line-end-position)))
                    (buffer-substring-no-properties (line-beginning-position) (line-end-position)))
    (execute-kbd-macro (kbd "TAB"))
    (cls-test-check "accepted, the closer is there once"
                    (equal "x = f(a, b)" (buffer-substring-no-properties (line-beginning-position) (line-end-position)))
                    (buffer-substring-no-properties (line-beginning-position) (line-end-position)))

    ;; After M-RET takes the last line of a suggestion, the next one is on its way without a key.
    (when (timerp codellama-ls--timer) (cancel-timer codellama-ls--timer))
    (setq codellama-ls--timer nil)
    (goto-char (point-max))
    (cls-test-check "a suggestion on the last line" (ctu-ask))
    (execute-kbd-macro (kbd "M-RET"))
    (cls-test-check "M-RET took all of it" (not codellama-ls--showing))
    (cls-test-check "a follow-up request is scheduled" (timerp codellama-ls--timer) codellama-ls--timer)
    (when (timerp codellama-ls--timer) (cancel-timer codellama-ls--timer))

    ;; A request cancelled on the way (point moved) leaves no error on Eglot's mode line.
    (insert "\n")
    (setf (jsonrpc-last-error server) nil)
    (execute-kbd-macro (kbd "C-c /"))
    (let ((id (nth 1 codellama-ls--pending)))
      (cls-test-check "the request is on its way" id codellama-ls--pending)
      (execute-kbd-macro (kbd "C-b"))  ; point left: the request is cancelled
      ;; The server answers the cancelled request with RequestCancelled.
      (cls-test-wait (lambda () (not (assoc id (jsonrpc--continuations server)))) 10)
      (accept-process-output nil 0.3))
    (cls-test-check "no last error after a cancelled request"
                    (null (jsonrpc-last-error server))
                    (jsonrpc-last-error server))))

(codellama-ls-mode 1)
(setq codellama-ls-command (append (json-parse-string (getenv "CODELLAMA_LS_TEST_SERVER") :array-type 'list) nil)
      eglot-sync-connect 30
      eglot-connect-timeout 60
      eglot-autoreconnect nil
      confirm-kill-processes nil
      python-indent-guess-indent-offset nil)
(codellama-ls-eglot-setup)
(fset 'yes-or-no-p (lambda (&rest _) t))
(fset 'y-or-n-p (lambda (&rest _) t))
(condition-case err
    (ctu-run)
  (error (cl-incf cls-test-failures) (message "ERROR %S" err)))
(ignore-errors (eglot-shutdown (eglot-current-server) nil 5))
(kill-emacs (if (zerop cls-test-failures) 0 1))

;;; test-ui.el ends here
