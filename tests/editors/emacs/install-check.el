;;; install-check.el --- after an install from a clone: where the package came from -*- lexical-binding: t; -*-

;; Run by tests/editors/test_emacs_install.py in a second Emacs, after the init file installed the
;; package: it must load from `package-user-dir' (not the checkout), and `codellama-ls-mode' put
;; the server first in `eglot-server-programs'.  (That its commands are autoloaded is checked before
;; the init file runs.)

;;; Code:

(require 'package)
(require 'eglot)

(let* ((installed (file-truename (getenv "CODELLAMA_EMACS_ELPA")))
       (library (locate-library "codellama-ls")))
  (unless (and library (string-prefix-p installed (file-truename library)))
    (error "FAIL: codellama-ls from %S, not from %S" library installed))
  (unless (package-installed-p 'codellama-ls)
    (error "FAIL: package.el does not know codellama-ls as installed"))
  (unless (bound-and-true-p codellama-ls-mode)
    (error "FAIL: the init file's (codellama-ls-mode 1) did not run"))
  (let ((entry (car eglot-server-programs)))
    (unless (eq (cdr entry) 'codellama-ls--contact)
      (error "FAIL: codellama-ls is not first in eglot-server-programs: %S" entry)))
  (message "PASS %s" library))

;;; install-check.el ends here
