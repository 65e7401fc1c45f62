;;; test-action-cancel.el --- a code action never freezes Emacs, and C-g cancels it  -*- lexical-binding: t; -*-

;;; Commentary:

;; emacs --batch -Q -l editors/emacs/codellama-ls.el -l tests/editors/emacs/test-action-cancel.el
;; with CODELLAMA_LS_TEST_FILE a Python file and CODELLAMA_LS_TEST_SERVER the scripted server
;; with a slow instruct model (several seconds per answer).  `eglot-code-actions' comes back
;; at once while the model works; C-g, then M-x codellama-ls-cancel, stop an action and leave
;; the buffer as it was; an action left alone lands.  Prints PASS or FAIL lines.

;;; Code:

(require 'cl-lib)
(require 'codellama-ls)
(require 'python)

(load (expand-file-name "test-support" (file-name-directory load-file-name)) nil t)

(defvar ctc-ends nil "Messages of the action progress ends seen, newest first.")

(defun ctc-record (server method &rest params)
  "Note the end of an action's progress (SERVER, METHOD and PARAMS of a notification)."
  (ignore server)
  (when (eq method '$/progress)
    (let ((token (plist-get params :token))
          (value (plist-get params :value)))
      (when (and (stringp token) (string-prefix-p "codellama-ls/action/" token)
                 (equal (plist-get value :kind) "end"))
        (push (plist-get value :message) ctc-ends)))))

(defun ctc-action (line column kind)
  "Run the code action of KIND at LINE and COLUMN; return the seconds it held Emacs."
  (goto-char (point-min))
  (forward-line (1- line))
  (move-to-column column)
  (let ((started (float-time)))
    (eglot-code-actions (point) nil kind t)
    (- (float-time) started)))

(defun ctc-wait-end (count)
  "Wait until COUNT action progresses have ended; return the newest end message."
  (cls-test-wait (lambda () (>= (length ctc-ends) count)) 30)
  (car ctc-ends))

(defun ctc-run ()
  "The checks, one by one."
  (advice-add 'eglot-handle-notification :after #'ctc-record)
  (find-file (getenv "CODELLAMA_LS_TEST_FILE"))
  (switch-to-buffer (current-buffer))
  (apply #'eglot (eglot--guess-contact))
  (let* ((server (or (cls-test-wait #'eglot-current-server 30) (error "No server")))
         (status (cls-test-wait (lambda ()
                                  (let ((status (codellama-ls-status server)))
                                    (and (member (plist-get status :state) '("ready" "failed")) status)))
                                45))
         (original (buffer-string)))
    (cls-test-check "the model is ready" (equal "ready" (plist-get status :state)) status)
    (cls-test-wait (lambda () codellama-ls-inline-mode) 10)

    ;; 1. The command comes back at once; the work goes on, shown in the lighter.
    (let ((held (ctc-action 9 12 "refactor.codellama.tests")))
      (cls-test-check "eglot-code-actions came back before the model was done" (< held 1.5) held))
    (cls-test-check "the action is shown as running"
                    (cls-test-wait (lambda () codellama-ls--actions-running) 5))
    (cls-test-check "the lighter says which action"
                    (string-match-p "generate tests" (codellama-ls--lighter))
                    (codellama-ls--lighter))
    ;; 2. C-g cancels it (and still quits).
    (condition-case nil
        (execute-kbd-macro (kbd "C-g"))
      (quit nil))
    (cls-test-check "C-g: the action ended as cancelled" (equal "cancelled" (ctc-wait-end 1)) ctc-ends)
    (accept-process-output nil 1)
    (cls-test-check "C-g: the buffer is untouched" (equal original (buffer-string)) (buffer-string))
    (cls-test-check "no action shown as running after it" (not codellama-ls--actions-running))

    ;; 3. M-x codellama-ls-cancel does the same.
    (ctc-action 9 12 "refactor.codellama.tests")
    (cls-test-wait (lambda () codellama-ls--actions-running) 5)
    (codellama-ls-cancel)
    (cls-test-check "M-x codellama-ls-cancel: cancelled" (equal "cancelled" (ctc-wait-end 2)) ctc-ends)
    (accept-process-output nil 1)
    (cls-test-check "M-x codellama-ls-cancel: the buffer is untouched" (equal original (buffer-string))
                    (buffer-string))

    ;; 4. Left alone, the action lands; Emacs took input meanwhile.
    (let ((held (ctc-action 9 12 "refactor.codellama.tests"))
          (typed 0))
      (cls-test-check "came back at once again" (< held 1.5) held)
      (cls-test-wait (lambda () codellama-ls--actions-running) 5)
      (while (and codellama-ls--actions-running (< typed 200))
        (with-temp-buffer (execute-kbd-macro "x"))  ; a keystroke, handled while the model works
        (cl-incf typed)
        (accept-process-output nil 0.05))
      (cls-test-check "keystrokes were handled while the action ran" (> typed 5) typed))
    (cls-test-check "the tests landed"
                    (cls-test-wait (lambda () (string-match-p "def test_area" (buffer-string))) 30)
                    (buffer-string))))

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
    (ctc-run)
  (error (cl-incf cls-test-failures) (message "ERROR %S" err)))
(ignore-errors (eglot-shutdown (eglot-current-server) nil 5))
(kill-emacs (if (zerop cls-test-failures) 0 1))

;;; test-action-cancel.el ends here
