;;; test-next-edit.el --- next-edit suggestions in Emacs, against the server  -*- lexical-binding: t; -*-

;;; Commentary:

;; emacs --batch -Q -l editors/emacs/codellama-ls.el -l tests/editors/emacs/test-next-edit.el
;; with CODELLAMA_LS_TEST_FILE the Python file NEXT_EDIT_SOURCE of tests/editors/test_nvim_ui.py
;; and CODELLAMA_LS_TEST_SERVER the real server with the scripted engine of
;; tests/support/next_edit_server.py, whose model renames `width' to `size' at its next use.
;; After the parameter is renamed on the first line, the change on the next use is drawn with
;; overlays; TAB jumps there, TAB applies it; an edit is never applied to, nor an answer shown in, a buffer that changed since;
;; C-g dismisses one (Rejected reaches the server, the buffer stays).
;; Prints PASS or FAIL lines; exits with status 1 on any failure.

;;; Code:

(require 'cl-lib)
(require 'codellama-ls)
(require 'python)

(load (expand-file-name "test-support" (file-name-directory load-file-name)) nil t)

(defvar ctn-server nil "The Eglot server under test.")

(defun ctn-line (n)
  "The text of line N."
  (save-excursion
    (goto-char (point-min))
    (forward-line (1- n))
    (buffer-substring-no-properties (line-beginning-position) (line-end-position))))

(defun ctn-pos (line column)
  "The position of LINE (1-based) and COLUMN (0-based)."
  (save-excursion
    (goto-char (point-min))
    (forward-line (1- line))
    (+ (point) column)))

(defun ctn-fire ()
  "Run the next-edit request the last edit scheduled, as an idle Emacs would.
Batch Emacs is never idle, so idle timers do not fire by themselves."
  (let ((timer codellama-ls--next-edit-timer))
    (when (cls-test-check "an edit scheduled a next-edit request" (timerp timer) timer)
      (timer-event-handler timer))))

(defmacro ctn-unheard (&rest body)
  "Run BODY, an edit, without the package hearing of it (Eglot does)."
  `(progn
     (remove-hook 'after-change-functions #'codellama-ls--next-edit-after-change t)
     (unwind-protect (progn ,@body)
       (add-hook 'after-change-functions #'codellama-ls--next-edit-after-change nil t))))

(defun ctn-wait-shown ()
  "Wait for a next edit to be shown; return it."
  (cls-test-wait (lambda () (and codellama-ls--next-edit-showing codellama-ls--next-edit)) 30))

(defun ctn-server-said (text)
  "Whether the server's log (its stderr) has TEXT."
  (let ((buffer (jsonrpc-stderr-buffer ctn-server)))
    (and (buffer-live-p buffer)
         (with-current-buffer buffer
           (save-excursion
             (goto-char (point-min))
             (search-forward text nil t))))))

(defun ctn-overlays ()
  "The overlays that draw the next edit: ((BEG END FACE AFTER-STRING) ...), by position."
  (sort (mapcar (lambda (ov)
                  (list (overlay-start ov) (overlay-end ov) (overlay-get ov 'face)
                        (and (overlay-get ov 'after-string)
                             (substring-no-properties (overlay-get ov 'after-string)))))
                (cl-remove-if-not (lambda (ov) (overlay-get ov 'codellama-ls-next-edit))
                                  (overlays-in (point-min) (point-max))))
        (lambda (a b) (< (car a) (car b)))))

(defun ctn-run ()
  "The checks, one by one."
  (find-file (getenv "CODELLAMA_LS_TEST_FILE"))
  (switch-to-buffer (current-buffer))
  (apply #'eglot (eglot--guess-contact))
  (setq ctn-server (or (cls-test-wait #'eglot-current-server 30) (error "No server")))
  (let ((status (cls-test-wait (lambda ()
                                 (let ((status (codellama-ls-status ctn-server)))
                                   (and (member (plist-get status :state) '("ready" "failed")) status)))
                               45)))
    (cls-test-check "the model is ready" (equal "ready" (plist-get status :state)) status))
  (cls-test-wait (lambda () codellama-ls-inline-mode) 10)
  (let ((original (buffer-string)))
    ;; 1. Rename the parameter on the first line.
    (goto-char (point-min))
    (re-search-forward "\\_<width\\_>")
    (replace-match "size")
    (cls-test-check "the renamed line" (equal "def area(size, height):" (ctn-line 1)) (ctn-line 1))
    (ctn-fire)
    (let ((edit (ctn-wait-shown)))
      (cls-test-check "the proposed edit is shown" edit)
      (cls-test-check "it replaces `width' on line 2 with `size'"
                      (and edit (equal (list (ctn-pos 2 12) (ctn-pos 2 17) "size" "width")
                                       (list (marker-position (plist-get edit :beg))
                                             (marker-position (plist-get edit :end))
                                             (plist-get edit :text) (plist-get edit :old))))
                      edit)
      (cls-test-check "drawn as a diff: `width' struck, `size' after it"
                      (equal (list (list (ctn-pos 2 12) (ctn-pos 2 17) 'codellama-ls-next-edit-deleted-face nil)
                                   (list (ctn-pos 2 17) (ctn-pos 2 17) nil "size"))
                             (ctn-overlays))
                      (ctn-overlays))
      (cls-test-check "showing changes nothing"
                      (equal (ctn-line 2) "    total = width * height") (ctn-line 2))
      (cls-test-check "Shown reached the server"
                      (cls-test-wait (lambda () (ctn-server-said (format "next edit %s shown" (plist-get edit :id)))) 10))

      ;; 2. TAB jumps there; TAB again applies it.
      (execute-kbd-macro (kbd "TAB"))
      (cls-test-check "TAB jumped to the edit" (= (point) (ctn-pos 2 12)) (point))
      (cls-test-check "the jump changed nothing" (equal (ctn-line 2) "    total = width * height") (ctn-line 2))
      (cls-test-check "still shown after the jump" codellama-ls--next-edit-showing)
      (execute-kbd-macro (kbd "TAB"))
      (cls-test-check "TAB applied it" (equal (ctn-line 2) "    total = size * height") (ctn-line 2))
      (cls-test-check "point after the new text" (= (point) (ctn-pos 2 16)) (point))
      (cls-test-check "no overlay left" (null (ctn-overlays)) (ctn-overlays))
      (cls-test-check "Accepted reached the server"
                      (cls-test-wait (lambda () (ctn-server-said (format "next edit %s accepted" (plist-get edit :id))))
                                     10)))

    ;; 3. The following one comes by itself; the buffer changes without the package hearing
    ;;    of it: nothing is applied.
    (ctn-fire)
    (let ((edit (ctn-wait-shown)))
      (cls-test-check "the following edit is on line 3"
                      (and edit (= (plist-get edit :beg) (ctn-pos 3 10))) edit)
      (ctn-unheard
       (goto-char (point-max))
       (insert "# typed meanwhile\n"))
      (let ((changed (buffer-string)))
        (cls-test-check "accepting after a change does nothing" (not (codellama-ls-next-edit-accept)))
        (cls-test-check "the changed buffer is not edited" (equal changed (buffer-string)) (buffer-string))
        (cls-test-check "a refused edit is not Accepted"
                        (not (ctn-server-said (format "next edit %s accepted" (plist-get edit :id)))))))

    ;; 4. An answer that comes after the buffer changed is not shown (the model takes
    ;;    SCRIPTED_NEXT_EDIT_DELAY; the change goes unheard, so the request is not cancelled).
    (codellama-ls--next-edit-clear)
    (goto-char (point-max))
    (delete-region (line-beginning-position 0) (point-max))
    (ctn-fire)
    (cls-test-check "the request is on its way" codellama-ls--next-edit-pending)
    (ctn-unheard
     (goto-char (point-max))
     (insert "# meanwhile\n"))
    (let ((moved-on (buffer-string)))
      (cls-test-wait (lambda () (null codellama-ls--next-edit-pending)) 30)
      (accept-process-output nil 0.3)
      (cls-test-check "the answer came" (null codellama-ls--next-edit-pending))
      (cls-test-check "a stale answer is not shown" (not codellama-ls--next-edit-showing))
      (cls-test-check "no overlay for a stale answer" (null (ctn-overlays)) (ctn-overlays))
      (cls-test-check "a stale answer edits nothing" (equal moved-on (buffer-string)) (buffer-string)))

    ;; 5. Proposed again; C-g dismisses it and leaves the buffer alone.
    (goto-char (point-max))
    (delete-region (line-beginning-position 0) (point-max))
    (ctn-fire)
    (let ((edit (ctn-wait-shown))
          (before (buffer-string)))
      (cls-test-check "the edit to dismiss is on line 3"
                      (and edit (= (plist-get edit :beg) (ctn-pos 3 10))) edit)
      (condition-case nil
          (execute-kbd-macro (kbd "C-g"))
        (quit nil))
      (cls-test-check "C-g dismissed it" (not codellama-ls--next-edit-showing))
      (cls-test-check "no overlay after C-g" (null (ctn-overlays)) (ctn-overlays))
      (cls-test-check "dismissing changed nothing" (equal before (buffer-string)) (buffer-string))
      (cls-test-check "Rejected reached the server"
                      (cls-test-wait (lambda () (ctn-server-said (format "next edit %s rejected" (plist-get edit :id))))
                                     10))
      (cls-test-check "a dismissed edit is not Accepted"
                      (not (ctn-server-said (format "next edit %s accepted" (plist-get edit :id))))))
    (cls-test-check "the file was not saved" (not (equal original (buffer-string))))))

(codellama-ls-mode 1)
(setq codellama-ls-command (append (json-parse-string (getenv "CODELLAMA_LS_TEST_SERVER") :array-type 'list) nil)
      codellama-ls-initialization-options '(:nextEdit t)
      codellama-ls-auto-trigger nil
      eglot-sync-connect 30
      eglot-connect-timeout 60
      eglot-autoreconnect nil
      confirm-kill-processes nil
      python-indent-guess-indent-offset nil)
(codellama-ls-eglot-setup)
(fset 'yes-or-no-p (lambda (&rest _) t))
(fset 'y-or-n-p (lambda (&rest _) t))
(condition-case err
    (ctn-run)
  (error (cl-incf cls-test-failures) (message "ERROR %S" err)))
(ignore-errors (eglot-shutdown (eglot-current-server) nil 5))
(kill-emacs (if (zerop cls-test-failures) 0 1))

;;; test-next-edit.el ends here
