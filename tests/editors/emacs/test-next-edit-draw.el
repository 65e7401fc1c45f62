;;; test-next-edit-draw.el --- how next edits of each shape are drawn and applied  -*- lexical-binding: t; -*-

;;; Commentary:

;; emacs --batch -Q -l editors/emacs/codellama-ls.el -l tests/editors/emacs/test-next-edit-draw.el
;; No server: the shown edit is set as an answer would set it.  An edit that spans lines (the lines
;; as they will read, below), a deletion (only the struck text), whole new lines (before the line
;; they go before) and an insertion in a line (only the new text, after it); each applied.
;; Prints PASS or FAIL lines; exits with status 1 on any failure.

;;; Code:

(require 'cl-lib)
(require 'codellama-ls)

(load (expand-file-name "test-support" (file-name-directory load-file-name)) nil t)

(defun ctd-pos (line column)
  "The position of LINE (1-based) and COLUMN (0-based)."
  (save-excursion (goto-char (point-min)) (forward-line (1- line)) (+ (point) column)))

(defun ctd-drawn ()
  "The next edit's overlays: ((START END FACE BEFORE AFTER) ...), by position."
  (sort (mapcar (lambda (ov)
                  (list (overlay-start ov) (overlay-end ov) (overlay-get ov 'face)
                        (and (overlay-get ov 'before-string)
                             (substring-no-properties (overlay-get ov 'before-string)))
                        (and (overlay-get ov 'after-string)
                             (substring-no-properties (overlay-get ov 'after-string)))))
                codellama-ls--next-edit-overlays)
        (lambda (a b) (< (car a) (car b)))))

(defun ctd-show (beg end text)
  "Show the edit of BEG..END into TEXT as an answer would."
  (codellama-ls--next-edit-clear)
  (setq codellama-ls--next-edit
        (list :id "t" :beg (copy-marker beg) :end (copy-marker end t) :text text
              :old (buffer-substring-no-properties beg end)
              :tick (buffer-chars-modified-tick) :server nil)
        codellama-ls--next-edit-overlays (codellama-ls--next-edit-draw beg end text)
        codellama-ls--next-edit-showing t))

(with-temp-buffer
  (insert "def f(a):\n    x = g(a)\n    return x\n")
  ;; Spanning lines: `g(a)' struck, the lines as they will read after the line.
  (ctd-show (ctd-pos 2 8) (ctd-pos 2 12) "g(\n        a,\n    )")
  (cls-test-check "a multi-line edit"
                  (equal (list (list (ctd-pos 2 8) (ctd-pos 2 12) 'codellama-ls-next-edit-deleted-face nil nil)
                               (list (ctd-pos 2 12) (ctd-pos 2 12) nil nil "\n    x = g(\n        a,\n    )"))
                         (ctd-drawn))
                  (ctd-drawn))
  (cls-test-check "applied" (codellama-ls-next-edit-accept))
  (cls-test-check "the lines after it"
                  (equal "def f(a):\n    x = g(\n        a,\n    )\n    return x\n" (buffer-string)) (buffer-string))
  ;; A deletion: only the struck text.
  (ctd-show (ctd-pos 2 10) (ctd-pos 4 4) "")
  (cls-test-check "a deletion"
                  (equal (list (list (ctd-pos 2 10) (ctd-pos 4 4) 'codellama-ls-next-edit-deleted-face nil nil))
                         (ctd-drawn))
                  (ctd-drawn))
  (codellama-ls-next-edit-accept)
  (cls-test-check "deleted" (equal "def f(a):\n    x = g()\n    return x\n" (buffer-string)) (buffer-string))
  ;; Whole new lines: before the line they go before.
  (ctd-show (ctd-pos 3 0) (ctd-pos 3 0) "    y = x\n")
  (cls-test-check "a new line"
                  (equal (list (list (ctd-pos 3 0) (ctd-pos 3 0) nil "    y = x\n" nil)) (ctd-drawn))
                  (ctd-drawn))
  (codellama-ls-next-edit-accept)
  (cls-test-check "the new line applied"
                  (equal "def f(a):\n    x = g()\n    y = x\n    return x\n" (buffer-string)) (buffer-string))
  ;; An insertion in a line: only the new text, where it goes.
  (ctd-show (ctd-pos 2 10) (ctd-pos 2 10) "a")
  (cls-test-check "an insertion"
                  (equal (list (list (ctd-pos 2 10) (ctd-pos 2 10) nil nil "a")) (ctd-drawn))
                  (ctd-drawn))
  (codellama-ls-next-edit-accept)
  (cls-test-check "inserted" (equal "def f(a):\n    x = g(a)\n    y = x\n    return x\n" (buffer-string)) (buffer-string))
  (cls-test-check "nothing left drawn" (and (null codellama-ls--next-edit-overlays)
                                            (not codellama-ls--next-edit-showing))))

(kill-emacs (if (zerop cls-test-failures) 0 1))

;;; test-next-edit-draw.el ends here
