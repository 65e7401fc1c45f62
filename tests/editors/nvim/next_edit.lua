-- Next-edit suggestions in a real Neovim, against the real server (CODELLAMA_NVIM_SERVER, the
-- scripted engine of tests/support/next_edit_server.py): after a parameter is renamed on one
-- line, the change of its next use is drawn as a diff; <M-n> jumps there, <M-y> applies it; a
-- shown edit is never applied to a buffer that changed since, nor an answer shown that comes
-- after a change; <M-d> dismisses one (Rejected reaches the server, the buffer stays).
--
-- The file (CODELLAMA_NVIM_FILE) is NEXT_EDIT_SOURCE of tests/editors/test_nvim_ui.py; the
-- model renames `width` to `size` at its next use.
local h = dofile(vim.env.CODELLAMA_NVIM_HARNESS)
local api = vim.api

local function lines(bufnr)
  return api.nvim_buf_get_lines(bufnr, 0, -1, true)
end

h.run(function()
  local plugin = require('codellama_ls')
  plugin.setup({
    cmd = vim.json.decode(vim.env.CODELLAMA_NVIM_SERVER),
    init_options = vim.json.decode(vim.env.CODELLAMA_NVIM_INIT or '{}'),
  })
  local next_edit = require('codellama_ls.next_edit')
  vim.cmd.edit(vim.fn.fnameescape(vim.env.CODELLAMA_NVIM_FILE))
  local bufnr = api.nvim_get_current_buf()
  local _, state = h.wait_ready(bufnr)
  h.eq('ready', state, 'model state')
  local original = lines(bufnr)

  local function server_said(text)
    return table.concat(plugin.log_lines(), '\n'):find(text, 1, true) ~= nil
  end
  local function wait_shown(what)
    return h.wait_for(what, h.SLOW, function()
      return next_edit.shown(bufnr)
    end)
  end

  -- 1. Rename the parameter on the first line, in normal mode as a user would: ciw, Esc.
  api.nvim_win_set_cursor(0, { 1, 9 })
  h.type_keys('ciwsize<Esc>')
  h.eq('def area(size, height):', lines(bufnr)[1], 'the renamed line')
  local shown = wait_shown('the proposed edit after the rename')
  h.log('shown: %s', vim.inspect(shown))
  -- The next use, on the line below: `width` (row 1, bytes 12-17) becomes `size`.
  h.eq({ 1, 12, 1, 17 }, shown.range, 'the edit range')
  h.eq({ 'size', 'width' }, { shown.text, shown.old }, 'new and old text')
  local deleted, added
  for _, mark in ipairs(shown.marks) do
    local d = mark[4]
    if d.hl_group == 'CodellamaNextEditDelete' then
      deleted = { mark[2], mark[3], d.end_row, d.end_col }
    elseif d.virt_text then
      added = { mark[2], mark[3], d.virt_text[1][1], d.virt_text[1][2], d.virt_text_pos }
    end
  end
  h.eq({ 1, 12, 1, 17 }, deleted, 'the replaced text is highlighted')
  h.eq({ 1, 17, 'size', 'CodellamaNextEditAdd', 'inline' }, added, 'the new text is drawn after it')
  h.eq(original[2], lines(bufnr)[2], 'showing changes nothing')
  h.wait_for('Shown at the server', h.QUICK, function()
    return server_said(('next edit %s shown'):format(shown.id))
  end)

  -- 2. The jump key goes there; the accept key applies it.
  h.eq({ 1, 12 }, api.nvim_win_get_cursor(0), 'cursor before the jump (on the renamed line)')
  h.type_keys('<M-n>')
  h.eq({ 2, 12 }, api.nvim_win_get_cursor(0), 'cursor after the jump')
  h.truthy(next_edit.shown(bufnr), 'the edit is still shown after the jump')
  h.type_keys('<M-y>')
  h.eq('    total = size * height', lines(bufnr)[2], 'the accepted line')
  h.eq({ 2, 16 }, api.nvim_win_get_cursor(0), 'cursor after the accepted text')
  h.wait_for('Accepted at the server', h.QUICK, function()
    return server_said(('next edit %s accepted'):format(shown.id))
  end)

  -- 3. The next one (the use on line 3) comes by itself.  The buffer changes without the plugin
  --    hearing of it (no autocmds): accepting refuses, and nothing is edited.
  local following = wait_shown('the following edit')
  h.eq({ 2, 10, 2, 15 }, following.range, 'the following edit range')
  h.eq('size', following.text, 'the following edit text')
  vim.o.eventignore = 'all'
  api.nvim_buf_set_lines(bufnr, -1, -1, true, { '# typed meanwhile' })
  local changed = lines(bufnr)
  h.eq(false, plugin.next_edit_accept(), 'accepting after a change')
  h.eq(changed, lines(bufnr), 'the changed buffer is not edited')
  vim.o.eventignore = ''
  h.truthy(not server_said(('next edit %s accepted'):format(following.id)), 'a refused edit is not Accepted')

  -- 4. An answer that comes after the buffer changed is not shown (the model takes
  --    SCRIPTED_NEXT_EDIT_DELAY; the change goes unheard, so the plugin does not cancel).
  api.nvim_buf_set_lines(bufnr, -2, -1, true, {})
  h.wait_for('the request after the change', h.SLOW, function()
    return next_edit.pending(bufnr)
  end)
  vim.o.eventignore = 'all'
  api.nvim_buf_set_lines(bufnr, -1, -1, true, { '# meanwhile' })
  local moved_on = lines(bufnr)
  h.wait_for('the answer', h.SLOW, function()
    return not next_edit.pending(bufnr)
  end)
  h.sleep(200)
  h.eq(nil, next_edit.shown(bufnr), 'a stale answer is not shown')
  h.eq({}, api.nvim_buf_get_extmarks(bufnr, api.nvim_create_namespace('codellama_ls.next_edit'), 0, -1, {}), 'marks')
  h.eq(moved_on, lines(bufnr), 'a stale answer edits nothing')
  vim.o.eventignore = ''

  -- 5. Proposed again; dismissing it tells the server and leaves the buffer alone.
  api.nvim_buf_set_lines(bufnr, -2, -1, true, {})
  local again = wait_shown('the edit to dismiss')
  local before = lines(bufnr)
  h.type_keys('<M-d>')
  h.eq(nil, next_edit.shown(bufnr), 'dismissed')
  h.eq({}, api.nvim_buf_get_extmarks(bufnr, api.nvim_create_namespace('codellama_ls.next_edit'), 0, -1, {}), 'marks')
  h.eq(before, lines(bufnr), 'dismissing changes nothing')
  h.wait_for('Rejected at the server', h.QUICK, function()
    return server_said(('next edit %s rejected'):format(again.id))
  end)
  h.truthy(not server_said(('next edit %s accepted'):format(again.id)), 'a dismissed edit is not Accepted')
end, 120000)
