;;; test-alternatives.el --- M-n/M-p over the server's alternatives, against the scripted server  -*- lexical-binding: t; -*-

;;; Commentary:

;; emacs --batch -Q -l editors/emacs/codellama-ls.el -l tests/editors/emacs/test-alternatives.el
;; with CODELLAMA_LS_TEST_FILE a Python file ("def f(a, b):\n    r\n"), CODELLAMA_LS_TEST_SERVER the
;; scripted server's command as JSON and SCRIPTED_ALTERNATIVES its three answers.  Prints PASS or
;; FAIL lines; exits with status 1 on any failure.

;;; Code:

(require 'cl-lib)
(require 'codellama-ls)
(require 'python)

(load (expand-file-name "test-support" (file-name-directory load-file-name)) nil t)

(defvar cta-messages nil "What was said in the echo area, newest first.")

(defun cta-record (said)
  "Note SAID, what `message' returned."
  (when said (push said cta-messages))
  said)

(defun cta-said (text)
  "Whether the echo area said TEXT since the last check; forget what it said."
  (prog1 (cl-some (lambda (said) (string-search text said)) cta-messages)
    (setq cta-messages nil)))

(defun cta-run ()
  "The checks, one by one."
  (find-file (getenv "CODELLAMA_LS_TEST_FILE"))
  (switch-to-buffer (current-buffer))
  (apply #'eglot (eglot--guess-contact))
  (let* ((server (or (cls-test-wait #'eglot-current-server 30) (error "No server")))
         (texts (append (json-parse-string (getenv "SCRIPTED_ALTERNATIVES") :array-type 'list) nil))
         (status (cls-test-wait (lambda ()
                                  (let ((status (codellama-ls-status server)))
                                    (and (member (plist-get status :state) '("ready" "failed")) status)))
                                45)))
    (cls-test-check "the model is ready" (equal "ready" (plist-get status :state)) status)
    (cls-test-wait (lambda () codellama-ls-inline-mode) 10)
    (setq codellama-ls-auto-trigger nil)
    (goto-char (point-min))
    (forward-line 1)
    (end-of-line)
    ;; An automatic request: one suggestion, no count.
    (codellama-ls--request 2)
    (cls-test-check "the automatic suggestion" (cls-test-wait (lambda () codellama-ls--showing) 20))
    (cls-test-check "one item" (= 1 (length codellama-ls--items)) codellama-ls--items)
    (cls-test-check "its text" (equal (nth 0 texts) (codellama-ls-current-suggestion))
                    (codellama-ls-current-suggestion))
    (setq cta-messages nil)
    ;; M-n asks for the alternatives and shows the second.
    (execute-kbd-macro (kbd "M-n"))
    (cls-test-wait (lambda () (cdr codellama-ls--items)) 20)
    (cls-test-check "three items after M-n" (= 3 (length codellama-ls--items)) codellama-ls--items)
    (cls-test-check "the second is shown" (equal (nth 1 texts) (codellama-ls-current-suggestion))
                    (codellama-ls-current-suggestion))
    (cls-test-check "the echo area says 2/3" (cta-said "2/3") cta-messages)
    (execute-kbd-macro (kbd "M-n"))
    (cls-test-check "M-n: the third" (equal (nth 2 texts) (codellama-ls-current-suggestion))
                    (codellama-ls-current-suggestion))
    (cls-test-check "the echo area says 3/3" (cta-said "3/3") cta-messages)
    (execute-kbd-macro (kbd "M-n"))
    (cls-test-check "M-n past the last: the first" (equal (nth 0 texts) (codellama-ls-current-suggestion))
                    (codellama-ls-current-suggestion))
    (cls-test-check "the echo area says 1/3" (cta-said "1/3") cta-messages)
    (execute-kbd-macro (kbd "M-p"))
    (cls-test-check "M-p: the third" (equal (nth 2 texts) (codellama-ls-current-suggestion))
                    (codellama-ls-current-suggestion))
    (execute-kbd-macro (kbd "TAB"))
    (cls-test-check "TAB accepts the one shown"
                    (equal (concat "    r" (nth 2 texts))
                           (buffer-substring-no-properties (line-beginning-position) (line-end-position)))
                    (buffer-substring-no-properties (line-beginning-position) (line-end-position)))
    ;; The explicit request: the first of three, counted.
    (delete-region (line-beginning-position) (line-end-position))
    (insert "    r")
    (setq cta-messages nil)
    (execute-kbd-macro (kbd "C-c /"))
    (cls-test-wait (lambda () codellama-ls--showing) 20)
    (cls-test-check "C-c /: three items" (= 3 (length codellama-ls--items)) codellama-ls--items)
    (cls-test-check "C-c /: the echo area says 1/3" (cta-said "1/3") cta-messages)
    ;; An automatic suggestion, and M-n's request finds no other (a server whose budget decoded
    ;; none): the suggestion shown stays, and the echo area says so.
    (codellama-ls-dismiss)
    (codellama-ls--request 2)
    (cls-test-wait (lambda () (and codellama-ls--showing (not codellama-ls--items-invoked))) 20)
    (cls-test-check "the automatic suggestion again" (equal (nth 0 texts) (codellama-ls-current-suggestion))
                    (codellama-ls-current-suggestion))
    (setq cta-messages nil)
    (let ((empty (lambda (request server method params &rest keys)
                   (if (eq method :textDocument/inlineCompletion)
                       (funcall (plist-get keys :success-fn) (list :items []))
                     (apply request server method params keys)))))
      (advice-add 'jsonrpc-async-request :around empty)
      (unwind-protect (execute-kbd-macro (kbd "M-n"))
        (advice-remove 'jsonrpc-async-request empty)))
    (cls-test-check "M-n that found no other: the suggestion stays"
                    (equal (nth 0 texts) (codellama-ls-current-suggestion))
                    (codellama-ls-current-suggestion))
    (cls-test-check "M-n that found no other: the echo area says so"
                    (cta-said "no other suggestion") cta-messages)))

(advice-add 'message :filter-return #'cta-record)
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
    (cta-run)
  (error (cl-incf cls-test-failures) (message "ERROR %S" err)))
(ignore-errors (eglot-shutdown (eglot-current-server) nil 5))
(kill-emacs (if (zerop cls-test-failures) 0 1))

;;; test-alternatives.el ends here
