;;; test-support.el --- checks and waiting for the Emacs batch tests  -*- lexical-binding: t; -*-

;;; Commentary:

;; Loaded by the test scripts that print PASS/FAIL lines and exit with status 1 on a failure.

;;; Code:

(require 'cl-lib)

(defvar cls-test-failures 0 "Number of failed checks.")

(defun cls-test-check (what ok &optional detail)
  "Record the check WHAT, passed if OK; print DETAIL when it failed."
  (unless ok (cl-incf cls-test-failures))
  (message "%s %s%s" (if ok "PASS" "FAIL") what (if ok "" (format " -- %S" detail)))
  ok)

(defun cls-test-wait (predicate seconds)
  "Process output until PREDICATE is non-nil or SECONDS pass; return its value."
  (let ((deadline (+ (float-time) seconds)) value)
    (while (and (not (setq value (funcall predicate))) (< (float-time) deadline))
      (accept-process-output nil 0.05))
    value))

(provide 'test-support)
;;; test-support.el ends here
