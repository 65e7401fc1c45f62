;;; test-actions.el --- code actions through Eglot against the scripted instruct model  -*- lexical-binding: t; -*-

;;; Commentary:

;; emacs --batch -Q -l editors/emacs/codellama-ls.el -l tests/editors/emacs/test-actions.el
;; with CODELLAMA_LS_TEST_FILE a Python file and CODELLAMA_LS_TEST_SERVER the server
;; command as JSON.  The doc comment and an edit by instruction (typed at `read-string')
;; land in the buffer, explain shows its answer; the file is saved for the caller to check.

;;; Code:

(require 'cl-lib)
(require 'codellama-ls)
(require 'python)

(load (expand-file-name "test-support" (file-name-directory load-file-name)) nil t)

(defun cta-action (line column kind)
  "Run the code action of KIND with point at LINE and COLUMN, as \\[eglot-code-actions]."
  (goto-char (point-min))
  (forward-line (1- line))
  (move-to-column column)
  (eglot-code-actions (point) nil kind t))

(defun cta-run ()
  "The actions, one by one."
  (find-file (getenv "CODELLAMA_LS_TEST_FILE"))
  (switch-to-buffer (current-buffer))
  (apply #'eglot (eglot--guess-contact))
  (let* ((server (or (cls-test-wait #'eglot-current-server 30) (error "No server")))
         (status (cls-test-wait (lambda ()
                             (let ((status (codellama-ls-status server)))
                               (and (member (plist-get status :state) '("ready" "failed")) status)))
                           45)))
    (cls-test-check "the model is ready" (equal "ready" (plist-get status :state)) status)
    (cta-action 9 12 "refactor.rewrite.codellama.docstring")
    (cls-test-check "the docstring is in"
               (cls-test-wait (lambda () (string-match-p "\"\"\"The area of the circle.\"\"\"" (buffer-string))) 20)
               (buffer-string))
    (let (asked)
      (cl-letf (((symbol-function 'read-string)
                 (lambda (prompt &rest _) (setq asked prompt) "multiply instead of using **")))
        (cta-action 10 12 "refactor.rewrite.codellama.edit"))
      (cls-test-check "read-string asked for the instruction" (and asked (string-match-p "Code Llama" asked)) asked))
    (cls-test-check "the edit by instruction is in"
               (cls-test-wait (lambda () (string-match-p "self\\.r \\* self\\.r" (buffer-string))) 20)
               (buffer-string))
    (cta-action 9 12 "refactor.codellama.explain")
    (cls-test-check "the explanation is shown"
               (cls-test-wait (lambda ()
                           (with-current-buffer (messages-buffer)
                             (string-match-p "This method returns the area" (buffer-string))))
                         20))
    (save-buffer)))

(codellama-ls-mode 1)
(setq codellama-ls-command (append (json-parse-string (getenv "CODELLAMA_LS_TEST_SERVER") :array-type 'list) nil)
      eglot-sync-connect 30
      eglot-connect-timeout 60
      eglot-autoreconnect nil
      eglot-confirm-server-edits nil
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

;;; test-actions.el ends here
