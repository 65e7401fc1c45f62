;;; test-failure.el --- C-c / with a model that failed to load, and the server's log  -*- lexical-binding: t; -*-

;;; Commentary:

;; emacs --batch -Q -l editors/emacs/codellama-ls.el -l tests/editors/emacs/test-failure.el
;; with CODELLAMA_LS_MODEL naming a missing file and CODELLAMA_LS_TEST_FILE a Python file.
;; Prints PASS or FAIL lines; exits with status 1 on any failure.

;;; Code:

(require 'cl-lib)
(require 'codellama-ls)
(require 'python)

(load (expand-file-name "test-support" (file-name-directory load-file-name)) nil t)

(defun ctf-messages (regexp)
  "Lines of *Messages* that match REGEXP."
  (with-current-buffer (messages-buffer)
    (cl-remove-if-not (lambda (line) (string-match-p regexp line))
                      (split-string (buffer-string) "\n"))))

(defun ctf-run ()
  "C-c / says once why there is no suggestion; the log can be shown and copied."
  (find-file (getenv "CODELLAMA_LS_TEST_FILE"))
  (switch-to-buffer (current-buffer))
  (apply #'eglot (eglot--guess-contact))
  (let* ((server (or (cls-test-wait #'eglot-current-server 30) (error "No server")))
         (status (cls-test-wait (lambda ()
                             (let ((status (codellama-ls-status server)))
                               (and (member (plist-get status :state) '("ready" "failed")) status)))
                           45)))
    (cls-test-check "the model failed to load" (equal "failed" (plist-get status :state)) status)
    ;; Eglot shows an ended progress as 100% for two seconds: not for a load that failed.
    (let ((shown (hash-table-values (eglot--progress-reporters server))))
      (cls-test-check "no 100% on Eglot's mode line after the failure"
                      (not (cl-some (lambda (pr) (equal 100 (nth 4 pr))) shown))
                      shown))
    (goto-char (point-max))
    (let ((before (length (ctf-messages "^codellama-ls: no suggestion"))))
      (execute-kbd-macro (kbd "C-c /"))
      (cls-test-wait (lambda () (> (length (ctf-messages "^codellama-ls: no suggestion")) before)) 30)
      (accept-process-output nil 0.3)
      (let ((said (nthcdr before (ctf-messages "^codellama-ls: no suggestion"))))
        (cls-test-check "C-c / says why, once" (= 1 (length said)) said)
        (cls-test-check "the reason is the model's failure"
                   (and said (string-match-p "model failed to load: Model file not found" (car said)))
                   said)))
    (let ((window (codellama-ls-show-log t)))
      (cls-test-check "the log is shown" (windowp window) window)
      (cls-test-check "the log has the server's error"
                 (string-match-p "Model file not found" (with-current-buffer (window-buffer window)
                                                          (buffer-string))))
      (cls-test-check "the log was copied" (string-match-p "Model file not found" (current-kill 0))))))

(codellama-ls-mode 1)
(setq eglot-sync-connect 30
      eglot-connect-timeout 60
      eglot-autoreconnect nil
      confirm-kill-processes nil
      python-indent-guess-indent-offset nil)
(fset 'yes-or-no-p (lambda (&rest _) t))
(fset 'y-or-n-p (lambda (&rest _) t))
(condition-case err
    (ctf-run)
  (error (cl-incf cls-test-failures) (message "ERROR %S" err)))
(ignore-errors (eglot-shutdown (eglot-current-server) nil 5))
(kill-emacs (if (zerop cls-test-failures) 0 1))

;;; test-failure.el ends here
