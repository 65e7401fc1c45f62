;;; lint.el --- checkdoc, package-lint and the byte compiler on codellama-ls.el  -*- lexical-binding: t; -*-

;;; Commentary:

;; emacs --batch -Q [-L DIR-OF-PACKAGE-LINT] -l tests/editors/emacs/lint.el FILE
;;
;; Prints each problem as FILE:LINE: TEXT and exits with status 1 if
;; there was any.  package-lint is used when it can be loaded (Debian:
;; elpa-package-lint); otherwise the line "package-lint: not available"
;; says it was skipped.

;;; Code:

(require 'cl-lib)
(require 'checkdoc)

(defvar lint-problems 0 "Number of problems found.")
(defvar package-lint-main-file)        ; From package-lint, when it is there.
(declare-function package-lint-buffer "package-lint")

(defun lint-report (file line text)
  "Print the problem TEXT at LINE of FILE and count it."
  (cl-incf lint-problems)
  (message "%s:%s: %s" (file-name-nondirectory file) line text))

(defun lint-checkdoc (file)
  "Run checkdoc on FILE."
  (let ((checkdoc-diagnostic-buffer "*lint-checkdoc*")
        (checkdoc-autofix-flag 'never))
    (with-current-buffer (find-file-noselect file)
      (checkdoc-current-buffer t))
    (with-current-buffer (get-buffer-create "*lint-checkdoc*")
      (goto-char (point-min))
      (while (re-search-forward "^\\(?:.*/\\)?[^:\n]+\\.el:\\([0-9]+\\): \\(.*\\)$" nil t)
        (lint-report file (match-string 1) (concat "checkdoc: " (match-string 2)))))))

(defun lint-drop-released-emacs (deps)
  "DEPS without an Emacs version that the running, released Emacs satisfies.
package-lint 0.16 (Debian 12) believes no Emacs newer than 27 is released."
  (cl-remove-if (lambda (dep)
                  (and (eq (car dep) 'emacs)
                       (version-list-<= (cadr dep) (version-to-list emacs-version))))
                deps))

(defun lint-package-lint (file)
  "Run package-lint on FILE, if it can be loaded."
  (if (or (getenv "LINT_SKIP_PACKAGE_LINT") (not (require 'package-lint nil t)))
      (message "package-lint: not available")
    (when (fboundp 'package-lint--check-emacs-version)
      (advice-add 'package-lint--check-emacs-version :filter-args
                  (lambda (args) (list (lint-drop-released-emacs (car args))))))
    (with-current-buffer (find-file-noselect file)
      (let ((package-lint-main-file nil))
        (pcase-dolist (`(,line ,_col ,type ,text) (package-lint-buffer))
          ;; The package has no public home yet: a URL header would name one that does not exist.
          (unless (equal text "Package should have a Homepage or URL header.")
            (lint-report file line (format "package-lint %s: %s" type text))))))
    (message "package-lint: ran")))

(defun lint-byte-compile (file)
  "Byte-compile FILE with warnings as errors, into a temporary file."
  (let ((byte-compile-dest-file-function
         (lambda (_) (make-temp-file "codellama-ls" nil ".elc")))
        (byte-compile-error-on-warn t))
    (unless (byte-compile-file file)
      (lint-report file 0 "byte-compile failed (its warnings are above)"))))

(let ((file (expand-file-name (car command-line-args-left))))
  (setq command-line-args-left nil)
  (lint-checkdoc file)
  (lint-package-lint file)
  (lint-byte-compile file)
  (message "%d problem(s)" lint-problems)
  (kill-emacs (if (zerop lint-problems) 0 1)))

;;; lint.el ends here
