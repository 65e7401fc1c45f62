;;; load.el --- Loading codellama-ls.el changes nothing; its modes do and undo  -*- lexical-binding: t; -*-

;;; Commentary:

;; emacs --batch -Q -l tests/editors/emacs/load.el DIR-OF-PACKAGE
;; Prints PASS or FAIL lines; exits with status 1 on any failure.

;;; Code:

(require 'cl-lib)
(require 'eglot)

(defvar load-failures 0 "Number of failed checks.")

(defun load-check (what ok &optional detail)
  "Record the check WHAT, passed if OK; print DETAIL when it failed."
  (unless ok (cl-incf load-failures))
  (message "%s %s%s" (if ok "PASS" "FAIL") what (if ok "" (format " -- %S" detail))))

(defun load-state ()
  "The global state the package may touch."
  (list (copy-tree eglot-server-programs)
        (copy-sequence eglot-managed-mode-hook)
        (copy-sequence emulation-mode-map-alists)))

(let* ((dir (expand-file-name (car command-line-args-left)))
       (loaddefs (expand-file-name "codellama-ls-autoloads.el" (make-temp-file "codellama-ls" t)))
       (before (load-state)))
  (setq command-line-args-left nil)
  ;; Autoloads, as package.el would generate them.
  (loaddefs-generate dir loaddefs)
  (load loaddefs nil t)
  (dolist (fn '(codellama-ls-mode codellama-ls-inline-mode codellama-ls-show-log codellama-ls-status))
    (load-check (format "%s is autoloaded" fn) (autoloadp (symbol-function fn)) (symbol-function fn)))
  (load-check "the autoloads change nothing" (equal before (load-state)))
  (add-to-list 'load-path dir)
  (require 'codellama-ls)
  (load-check "loading the package changes nothing" (equal before (load-state))
              (list :before before :after (load-state)))
  (codellama-ls-mode 1)
  (load-check "codellama-ls-mode registers the server with Eglot"
              (cl-find #'codellama-ls--contact eglot-server-programs :key #'cdr-safe))
  (load-check "codellama-ls-mode hooks Eglot's managed mode"
              (memq #'codellama-ls--maybe-inline-mode eglot-managed-mode-hook))
  (with-temp-buffer
    (codellama-ls-inline-mode 1)
    (load-check "the inline mode's keys are active"
                (memq 'codellama-ls--emulation-alist emulation-mode-map-alists))
    (codellama-ls-inline-mode -1))
  (codellama-ls-mode -1)
  (load-check "turning codellama-ls-mode off removes the server"
              (not (cl-find #'codellama-ls--contact eglot-server-programs :key #'cdr-safe)))
  (unload-feature 'codellama-ls t)
  (load-check "unloading restores the global state" (equal before (load-state))
              (list :before before :after (load-state)))
  (kill-emacs (if (zerop load-failures) 0 1)))

;;; load.el ends here
