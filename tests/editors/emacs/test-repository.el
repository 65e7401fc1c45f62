;;; test-repository.el --- a call into a file that is not open gets its arguments  -*- lexical-binding: t; -*-

;;; Commentary:

;; emacs --batch -Q -l editors/emacs/codellama-ls.el -l tests/editors/emacs/test-repository.el
;; with CODELLAMA_LS_TEST_FILE the main.py of a two-file package (the other file defines what it
;; calls and is never opened), CODELLAMA_LS_TEST_SERVER the scripted server with SCRIPTED_CALLS=1
;; (it answers a call with the parameters of the definition its prompt holds, else ")"),
;; CODELLAMA_LS_TEST_REPOSITORY "true" or "false" (the server's repositoryContext) and
;; CODELLAMA_LS_TEST_EXPECTED the ghost text expected.  Types the call at the end of the file,
;; asks, accepts with TAB and saves.  Prints PASS or FAIL lines; exits with status 1 on any failure.

;;; Code:

(require 'cl-lib)
(require 'codellama-ls)
(require 'python)

(load (expand-file-name "test-support" (file-name-directory load-file-name)) nil t)

(defun ctr-line ()
  "The text of the line at point."
  (buffer-substring-no-properties (line-beginning-position) (line-end-position)))

(defun ctr-run ()
  "The checks, one by one."
  (find-file (getenv "CODELLAMA_LS_TEST_FILE"))
  (switch-to-buffer (current-buffer))
  (apply #'eglot (eglot--guess-contact))
  (let* ((enabled (equal (getenv "CODELLAMA_LS_TEST_REPOSITORY") "true"))
         (expected (getenv "CODELLAMA_LS_TEST_EXPECTED"))
         (server (or (cls-test-wait #'eglot-current-server 30) (error "No server")))
         (status (cls-test-wait (lambda ()
                                  (let ((status (codellama-ls-status server)))
                                    (and (member (plist-get status :state) '("ready" "failed")) status)))
                                45))
         repository)
    (cls-test-check "the model is ready" (equal "ready" (plist-get status :state)) status)
    (cls-test-check "one buffer is open in the server"
                    (= 1 (length (eglot--managed-buffers server)))
                    (eglot--managed-buffers server))
    ;; The index is built in the background: wait until it holds the package's files (none when off).
    (setq repository
          (cls-test-wait (lambda ()
                           (let ((repo (plist-get (codellama-ls-status server) :repository)))
                             (and repo (or (>= (plist-get repo :files) 3) (not enabled)) repo)))
                         30))
    (message "repository: %S" repository)
    (cls-test-check "repository context as set"
                    (eq enabled (eq t (plist-get repository :enabled)))
                    repository)
    (cls-test-wait (lambda () codellama-ls-inline-mode) 10)

    ;; The user writes the call at the end of the file and asks.
    (goto-char (point-max))
    (forward-line -1)
    (end-of-line)
    (execute-kbd-macro "scale_point(")
    (when (timerp codellama-ls--timer) (cancel-timer codellama-ls--timer))
    (execute-kbd-macro (kbd "C-c /"))
    (cls-test-check "a suggestion" (cls-test-wait (lambda () codellama-ls--showing) 20))
    (cls-test-check "the ghost text" (equal expected (codellama-ls-current-suggestion))
                    (codellama-ls-current-suggestion))
    (execute-kbd-macro (kbd "TAB"))
    (cls-test-check "the line once accepted"
                    (equal (concat "    return scale_point(" expected) (ctr-line))
                    (ctr-line))
    (save-buffer)))

(codellama-ls-mode 1)
(setq codellama-ls-command (append (json-parse-string (getenv "CODELLAMA_LS_TEST_SERVER") :array-type 'list) nil)
      eglot-sync-connect 30
      eglot-connect-timeout 60
      eglot-autoreconnect nil
      confirm-kill-processes nil
      python-indent-guess-indent-offset nil
      ;; The workspace folder is the project's, as with a version-controlled one.
      project-vc-extra-root-markers '("pyproject.toml"))
(codellama-ls-eglot-setup)
(fset 'yes-or-no-p (lambda (&rest _) t))
(fset 'y-or-n-p (lambda (&rest _) t))
(condition-case err
    (ctr-run)
  (error (cl-incf cls-test-failures) (message "ERROR %S" err)))
(ignore-errors (eglot-shutdown (eglot-current-server) nil 5))
(kill-emacs (if (zerop cls-test-failures) 0 1))

;;; test-repository.el ends here
