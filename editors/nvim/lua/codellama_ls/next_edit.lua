-- Next-edit suggestions: after the user pauses editing, the server may propose a change a few
-- lines away (the next use of a renamed parameter, say).  It is drawn where it would go, as a
-- diff: the text it replaces highlighted, the new text beside it (or below, for several lines).
-- One key jumps there, one applies it, one dismisses it.
--
-- Protocol (README, "Next-edit suggestions"): request `codellama/nextEdit` with
-- {textDocument = {uri, version}, position}; result {edits = [{id, range, text, textDocument}]}.
-- Notifications codellama/nextEditShown, nextEditAccepted and nextEditRejected, each {id}.
--
-- Safety: an answer is used only if the buffer is exactly as it was when asked (changedtick and
-- the LSP version the edit names); a shown edit disappears at the buffer's next change, and
-- accepting checks again, so an edit never lands in text that moved on.
local config = require('codellama_ls.config')

local api = vim.api
local M = {}

M.METHOD = 'codellama/nextEdit'
M.SHOWN = 'codellama/nextEditShown'
M.ACCEPTED = 'codellama/nextEditAccepted'
M.REJECTED = 'codellama/nextEditRejected'
local METHOD_NOT_FOUND = -32601

local draw_ns = api.nvim_create_namespace('codellama_ls.next_edit') -- what the user sees
local range_ns = api.nvim_create_namespace('codellama_ls.next_edit.range') -- the range's ends

---@class codellama_ls.NextEdit
---@field id any the server's id, sent back in the notifications
---@field text string the new text
---@field old string the text it replaces, when it was shown
---@field tick integer changedtick it was computed and shown for
---@field start_mark integer
---@field end_mark integer

---@class codellama_ls.NextEditState
---@field client_id integer
---@field timer uv.uv_timer_t
---@field augroup integer
---@field pending? {id?: integer, tick: integer}
---@field edit? codellama_ls.NextEdit
---@field unsupported? boolean the server does not know the method

---@type table<integer, codellama_ls.NextEditState>
local states = {}

local function options()
  return config.options.next_edit or {}
end

local function version(bufnr)
  return vim.lsp.util.buf_versions[bufnr]
end

local function notify(state, method, id)
  local client = vim.lsp.get_client_by_id(state.client_id)
  if client and id ~= nil then
    client:notify(method, { id = id })
  end
end

local function cancel_pending(state)
  state.timer:stop()
  local pending = state.pending
  state.pending = nil
  local client = vim.lsp.get_client_by_id(state.client_id)
  if pending and pending.id and client then
    client:cancel_request(pending.id)
  end
end

--- Forget the shown edit and erase it (no notification: the caller says why, if anyone asked).
local function clear(bufnr, state)
  if api.nvim_buf_is_valid(bufnr) then
    api.nvim_buf_clear_namespace(bufnr, draw_ns, 0, -1)
    api.nvim_buf_clear_namespace(bufnr, range_ns, 0, -1)
  end
  state.edit = nil
end

-- An LSP position as (row, byte col), or nil when it is not in the buffer.
local function byte_position(bufnr, position, encoding)
  if type(position) ~= 'table' or type(position.line) ~= 'number' or type(position.character) ~= 'number' then
    return nil
  end
  if position.line < 0 or position.line >= api.nvim_buf_line_count(bufnr) then
    return nil
  end
  local line = api.nvim_buf_get_lines(bufnr, position.line, position.line + 1, true)[1]
  local ok, col = pcall(vim.str_byteindex, line, encoding, position.character, false)
  return ok and position.line or nil, col
end

-- Where the range's marks are now: start row, col, end row, col.
local function marked_range(bufnr, edit)
  local s = api.nvim_buf_get_extmark_by_id(bufnr, range_ns, edit.start_mark, {})
  local e = api.nvim_buf_get_extmark_by_id(bufnr, range_ns, edit.end_mark, {})
  if not s[1] or not e[1] then
    return nil
  end
  return s[1], s[2], e[1], e[2]
end

local function untab(bufnr, text)
  return (text:gsub('\t', string.rep(' ', vim.bo[bufnr].tabstop)))
end

--- Draw `edit` as a diff: the replaced text in CodellamaNextEditDelete; the new text in
--- CodellamaNextEditAdd, inline after it when both are one line, else as lines (whole new lines
--- where they go, otherwise the lines as they will read, below the range).
local function draw(bufnr, edit, sr, sc, er, ec)
  if sr ~= er or ec > sc then
    api.nvim_buf_set_extmark(bufnr, draw_ns, sr, sc, {
      end_row = er,
      end_col = ec,
      hl_group = 'CodellamaNextEditDelete',
      hl_mode = 'combine',
      priority = 200,
    })
  end
  if edit.text == '' then
    return -- a deletion: the struck text says it all
  end
  local new_lines = vim.split(edit.text, '\n', { plain = true })
  if sr == er and #new_lines == 1 then
    api.nvim_buf_set_extmark(bufnr, draw_ns, er, ec, {
      virt_text = { { untab(bufnr, edit.text), 'CodellamaNextEditAdd' } },
      virt_text_pos = 'inline',
      priority = 200,
    })
    return
  end
  local row, above = er, false
  local line_length = #api.nvim_buf_get_lines(bufnr, sr, sr + 1, true)[1]
  if sr == er and sc == 0 and ec == 0 and new_lines[#new_lines] == '' then
    -- Whole lines put in before a line: shown above it.
    table.remove(new_lines)
    above = true
  elseif sr == er and sc == line_length and ec == sc and new_lines[1] == '' then
    -- Whole lines put in after a line: shown below it.
    table.remove(new_lines, 1)
  else
    -- Anything else: the lines as they will read, below the last line the edit touches.
    new_lines[1] = api.nvim_buf_get_text(bufnr, sr, 0, sr, sc, {})[1] .. new_lines[1]
    new_lines[#new_lines] = new_lines[#new_lines] .. api.nvim_buf_get_text(bufnr, er, ec, er, -1, {})[1]
  end
  local virt_lines = {}
  for _, line in ipairs(new_lines) do
    virt_lines[#virt_lines + 1] = { { untab(bufnr, line), 'CodellamaNextEditAdd' } }
  end
  api.nvim_buf_set_extmark(bufnr, draw_ns, row, 0, { virt_lines = virt_lines, virt_lines_above = above, priority = 200 })
end

--- The first edit of `result` that is for this buffer at its current version, with its range in bytes.
local function usable(bufnr, client, result)
  local uri = vim.uri_from_bufnr(bufnr)
  for _, edit in ipairs(type(result) == 'table' and result.edits or {}) do
    local doc = type(edit) == 'table' and edit.textDocument or nil
    if
      type(doc) == 'table'
      and doc.uri == uri
      and doc.version == version(bufnr)
      and type(edit.text) == 'string'
      and type(edit.range) == 'table'
    then
      local sr, sc = byte_position(bufnr, edit.range.start, client.offset_encoding)
      local er, ec = byte_position(bufnr, edit.range['end'], client.offset_encoding)
      if sr and er and (sr < er or (sr == er and sc <= ec)) then
        local old = table.concat(api.nvim_buf_get_text(bufnr, sr, sc, er, ec, {}), '\n')
        if old ~= edit.text then
          return edit, old, sr, sc, er, ec
        end
      end
    end
  end
end

local function on_response(bufnr, state, request, err, result)
  if states[bufnr] ~= state or state.pending ~= request then
    return -- superseded, cancelled or detached
  end
  state.pending = nil
  if err then
    if err.code == METHOD_NOT_FOUND then
      state.unsupported = true -- an older server: stop asking it
    end
    return
  end
  local client = vim.lsp.get_client_by_id(state.client_id)
  -- Only for the text it was computed for: anything else may be stale.
  if not client or not api.nvim_buf_is_loaded(bufnr) or api.nvim_buf_get_changedtick(bufnr) ~= request.tick then
    return
  end
  local edit, old, sr, sc, er, ec = usable(bufnr, client, result)
  if not edit then
    return
  end
  clear(bufnr, state)
  state.edit = {
    id = edit.id,
    text = edit.text,
    old = old,
    tick = request.tick,
    start_mark = api.nvim_buf_set_extmark(bufnr, range_ns, sr, sc, { right_gravity = false }),
    end_mark = api.nvim_buf_set_extmark(bufnr, range_ns, er, ec, { right_gravity = true }),
  }
  draw(bufnr, state.edit, sr, sc, er, ec)
  notify(state, M.SHOWN, edit.id)
end

local function wanted(bufnr, state)
  local mode = api.nvim_get_mode().mode:sub(1, 1)
  return states[bufnr] == state
    and not state.unsupported
    and config.options.enabled ~= false
    and options().enabled ~= false
    and api.nvim_get_current_buf() == bufnr
    and (mode == 'n' or mode == 'i')
end

--- Ask the server now for a next edit at the cursor.
function M.request(bufnr)
  local state = states[bufnr]
  local client = state and vim.lsp.get_client_by_id(state.client_id)
  if not client or api.nvim_get_current_buf() ~= bufnr then
    return
  end
  cancel_pending(state)
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
  params.textDocument.version = version(bufnr)
  local request = { tick = api.nvim_buf_get_changedtick(bufnr) }
  state.pending = request
  -- client:request sends any pending didChange first, so the server sees this version.
  local ok, id = client:request(M.METHOD, params, function(err, result)
    on_response(bufnr, state, request, err, result)
  end, bufnr)
  if ok then
    request.id = id
  elseif state.pending == request then
    state.pending = nil
  end
end

-- After any change: what was shown is about text that is gone; ask again once editing pauses.
local function on_change(bufnr)
  local state = states[bufnr]
  if not state then
    return
  end
  local tick = api.nvim_buf_get_changedtick(bufnr)
  -- TextChanged also comes after leaving insert mode, for changes already seen.
  if (state.edit and state.edit.tick == tick) or (state.pending and state.pending.tick == tick) then
    return
  end
  clear(bufnr, state)
  cancel_pending(state)
  if not wanted(bufnr, state) then
    return
  end
  state.timer:start(options().debounce_ms or 400, 0, function()
    vim.schedule(function()
      if wanted(bufnr, state) and api.nvim_buf_get_changedtick(bufnr) == tick and not state.pending then
        M.request(bufnr)
      end
    end)
  end)
end

--- The shown edit, if the buffer has not changed since it was shown.
local function current(bufnr)
  local state = states[bufnr]
  local edit = state and state.edit
  if not edit or api.nvim_buf_get_changedtick(bufnr) ~= edit.tick then
    return nil
  end
  return state, edit
end

function M.visible(bufnr)
  return current(bufnr) ~= nil
end

--- Move the cursor to the start of the shown edit; false when there is none.
function M.jump(bufnr)
  local _, edit = current(bufnr)
  if not edit or api.nvim_get_current_buf() ~= bufnr then
    return false
  end
  local sr, sc = marked_range(bufnr, edit)
  if not sr then
    return false
  end
  pcall(vim.cmd, "normal! m'") -- <C-o> comes back
  api.nvim_win_set_cursor(0, { sr + 1, sc })
  return true
end

--- Apply the shown edit and put the cursor after it; false when there is none.
function M.accept(bufnr)
  local state, edit = current(bufnr)
  if not state or not edit then
    return false
  end
  local sr, sc, er, ec = marked_range(bufnr, edit)
  -- Checked again: the range still holds the text the edit was computed for.
  if not sr or table.concat(api.nvim_buf_get_text(bufnr, sr, sc, er, ec, {}), '\n') ~= edit.old then
    clear(bufnr, state)
    return false
  end
  clear(bufnr, state)
  local lines = vim.split(edit.text, '\n', { plain = true })
  api.nvim_buf_set_text(bufnr, sr, sc, er, ec, lines)
  notify(state, M.ACCEPTED, edit.id)
  if api.nvim_get_current_buf() == bufnr then
    local last = #lines == 1 and sc + #lines[1] or #lines[#lines]
    api.nvim_win_set_cursor(0, { sr + #lines, last })
  end
  return true
end

--- Hide the shown edit and tell the server it was rejected; false when there is none.
function M.dismiss(bufnr)
  local state, edit = current(bufnr)
  if not state or not edit then
    return false
  end
  clear(bufnr, state)
  notify(state, M.REJECTED, edit.id)
  return true
end

local actions = { jump = M.jump, accept = M.accept, dismiss = M.dismiss }

--- Run a key's action (from a mapping's <Cmd>, where the buffer may change).
function M.run(action, bufnr)
  return actions[action](bufnr or api.nvim_get_current_buf())
end

--- What an <expr> mapping of `lhs` types: the action while an edit is shown, else `lhs` itself.
function M.keys(action, bufnr, lhs)
  if M.visible(bufnr) then
    return ('<Cmd>lua require("codellama_ls.next_edit").run(%q, %d)<CR>'):format(action, bufnr)
  end
  return lhs
end

local function map_keys(bufnr)
  for action, lhs in pairs(options().keymaps or {}) do
    if lhs and actions[action] then
      vim.keymap.set({ 'n', 'i' }, lhs, function()
        return M.keys(action, bufnr, lhs)
      end, { buffer = bufnr, expr = true, replace_keycodes = true, desc = 'codellama-ls: next edit, ' .. action })
    end
  end
end

function M.unmap_keys(bufnr, keymaps)
  for _, lhs in pairs(keymaps or {}) do
    if lhs then
      pcall(vim.keymap.del, { 'n', 'i' }, lhs, { buffer = bufnr })
    end
  end
end

function M.attach(client, bufnr)
  map_keys(bufnr)
  if states[bufnr] then
    states[bufnr].client_id = client.id
    return
  end
  local augroup = api.nvim_create_augroup('codellama_ls.next_edit.' .. bufnr, { clear = true })
  local state = { client_id = client.id, timer = assert(vim.uv.new_timer()), augroup = augroup }
  states[bufnr] = state
  api.nvim_create_autocmd({ 'TextChanged', 'TextChangedI', 'TextChangedP' }, {
    group = augroup,
    buffer = bufnr,
    callback = function()
      on_change(bufnr)
    end,
  })
  api.nvim_create_autocmd('BufUnload', {
    group = augroup,
    buffer = bufnr,
    callback = function()
      M.detach(bufnr)
    end,
  })
end

function M.detach(bufnr, keymaps)
  M.unmap_keys(bufnr, keymaps or options().keymaps)
  local state = states[bufnr]
  if not state then
    return
  end
  cancel_pending(state)
  clear(bufnr, state)
  states[bufnr] = nil
  state.timer:close()
  pcall(api.nvim_del_augroup_by_id, state.augroup)
end

--- Turned off (:CodellamaToggle off): nothing in flight, nothing shown.
function M.set_enabled(enabled)
  if not enabled then
    for bufnr, state in pairs(states) do
      cancel_pending(state)
      clear(bufnr, state)
    end
  end
end

--- For tests and statuslines: the shown edit (0-based range in bytes, its text and the text it replaces).
function M.shown(bufnr)
  local _, edit = current(bufnr)
  if not edit then
    return nil
  end
  local sr, sc, er, ec = marked_range(bufnr, edit)
  local marks = api.nvim_buf_get_extmarks(bufnr, draw_ns, 0, -1, { details = true })
  return { id = edit.id, range = { sr, sc, er, ec }, text = edit.text, old = edit.old, marks = marks }
end

--- For tests: whether a request is in flight for `bufnr`.
function M.pending(bufnr)
  return states[bufnr] ~= nil and states[bufnr].pending ~= nil
end

return M
