-- Ghost text for Neovim 0.11, which has no inline-completion client of its own.
--
-- Life of a suggestion: typing (InsertEnter/TextChangedI/CursorMovedI) restarts a
-- debounce timer; when it fires we send textDocument/inlineCompletion for the
-- cursor, cancelling the request before it.  An answer is shown only if the
-- buffer and cursor are still exactly where they were when we asked.  Each item's
-- range is turned into two extmarks once, with the client's position encoding, so
-- Neovim keeps the range right while the user types over the suggestion; accepting
-- replaces that range with insertText.
local config = require('codellama_ls.config')

local api = vim.api
local M = {}

local METHOD = 'textDocument/inlineCompletion'
-- lsp.InlineCompletionTriggerKind
M.INVOKED, M.AUTOMATIC = 1, 2

local ghost_ns = api.nvim_create_namespace('codellama_ls.ghost') -- the visible text
local range_ns = api.nvim_create_namespace('codellama_ls.range') -- invisible range ends
local busy_ns = api.nvim_create_namespace('codellama_ls.busy') -- "computing" at the line's end

---@class codellama_ls.Item
---@field text string insertText
---@field start {[1]: integer, [2]: integer} where the range started when the answer came
---@field start_mark integer extmark at the range start (stays left of text typed there)
---@field end_mark integer extmark at the range end (pushed right by text typed there)

---@class codellama_ls.State
---@field client_id integer
---@field timer uv.uv_timer_t
---@field pending? {id?: integer, tick: integer, row: integer, col: integer} request in flight
---@field wanted? string tick:row:col the timer or the request in flight is for
---@field items? codellama_ls.Item[]
---@field index integer
---@field items_kind? integer the trigger kind of the request the items answered
---@field shown_tick? integer changedtick when the ghost text was last drawn
---@field shown_at? string tick:row:col where it was last drawn
---@field augroup integer

---@type table<integer, codellama_ls.State>
local states = {}

-- Cursor of the current window as (0-based row, byte col), if it shows `bufnr`.
local function cursor(bufnr)
  local win = api.nvim_get_current_win()
  if api.nvim_win_get_buf(win) ~= bufnr then
    return nil
  end
  local pos = api.nvim_win_get_cursor(win)
  return pos[1] - 1, pos[2]
end

local function in_insert_mode()
  return api.nvim_get_mode().mode:sub(1, 1) == 'i'
end

local function where(bufnr)
  local row, col = cursor(bufnr)
  return row and ('%d:%d:%d'):format(api.nvim_buf_get_changedtick(bufnr), row, col)
end

-- An LSP position -> (row, byte col), in the encoding the client negotiated.
-- Positions past the end clamp, as the spec asks.
local function byte_position(bufnr, position, encoding)
  local last = api.nvim_buf_line_count(bufnr) - 1
  if position.line > last then
    local line = api.nvim_buf_get_lines(bufnr, last, last + 1, true)[1]
    return last, #line
  end
  local line = api.nvim_buf_get_lines(bufnr, position.line, position.line + 1, true)[1]
  return position.line, vim.str_byteindex(line, encoding, position.character, false)
end

local function before(r1, c1, r2, c2)
  return r1 < r2 or (r1 == r2 and c1 <= c2)
end

local function clear(state, bufnr)
  api.nvim_buf_clear_namespace(bufnr, ghost_ns, 0, -1)
  api.nvim_buf_clear_namespace(bufnr, range_ns, 0, -1)
  state.items = nil
end

-- While a request is in flight, a mark at the end of the cursor line (a CPU takes a second).
local function show_busy(bufnr, row)
  local text = config.options.busy_indicator
  if text and text ~= '' then
    api.nvim_buf_clear_namespace(bufnr, busy_ns, 0, -1)
    api.nvim_buf_set_extmark(bufnr, busy_ns, row, 0, {
      virt_text = { { text, config.options.hl_group } },
      virt_text_pos = 'eol',
    })
  end
end

local function clear_busy(bufnr)
  if api.nvim_buf_is_valid(bufnr) then
    api.nvim_buf_clear_namespace(bufnr, busy_ns, 0, -1)
  end
end

-- Stop the debounce timer and the request in flight: a newer one replaces them.
local function cancel(state)
  state.timer:stop()
  state.wanted = nil
  local pending = state.pending
  state.pending = nil
  if pending and pending.bufnr then
    clear_busy(pending.bufnr)
  end
  local client = vim.lsp.get_client_by_id(state.client_id)
  if pending and pending.id and client then
    client:cancel_request(pending.id)
  end
end

--- The shown item, if it still fits the buffer: the cursor lies inside its range and
--- what was typed from the range start to the cursor begins the item's text.
---@return {item: codellama_ls.Item, rest: string, row: integer, col: integer, after: string}?
local function current(bufnr, state)
  local item = state.items and state.items[state.index]
  local row, col = cursor(bufnr)
  if not item or not row then
    return nil
  end
  local start = api.nvim_buf_get_extmark_by_id(bufnr, range_ns, item.start_mark, {})
  local end_ = api.nvim_buf_get_extmark_by_id(bufnr, range_ns, item.end_mark, {})
  -- Text deleted or added before the range moves its start: the context the model
  -- saw is gone, so the suggestion is too.
  if start[1] ~= item.start[1] or start[2] ~= item.start[2] or not end_[1] then
    return nil
  end
  if not before(start[1], start[2], row, col) or not before(row, col, end_[1], end_[2]) then
    return nil
  end
  local typed = table.concat(api.nvim_buf_get_text(bufnr, start[1], start[2], row, col, {}), '\n')
  if not vim.startswith(item.text, typed) or #typed == #item.text then
    return nil
  end
  -- Text after the cursor that accepting replaces (e.g. a closing bracket).
  local after = ''
  if end_[1] == row then
    after = api.nvim_buf_get_text(bufnr, row, col, row, end_[2], {})[1]
  end
  return { item = item, rest = item.text:sub(#typed + 1), row = row, col = col, after = after }
end

-- Virtual text does not expand tabs; show them as the buffer would.
local function untab(bufnr, text)
  return (text:gsub('\t', string.rep(' ', vim.bo[bufnr].tabstop)))
end

--- Draw the current item after the cursor; false (and nothing drawn) when none fits.
local function render(bufnr, state)
  api.nvim_buf_clear_namespace(bufnr, ghost_ns, 0, -1)
  local cur = current(bufnr, state)
  if not cur then
    return false
  end
  local rest = cur.rest
  -- The replaced text stays visible in the buffer right after the cursor, so
  -- drawing it again would show it twice.
  if cur.after ~= '' and vim.endswith(rest, cur.after) then
    rest = rest:sub(1, #rest - #cur.after)
  end
  local hl = config.options.hl_group
  local lines = vim.split(rest, '\n', { plain = true })
  local virt_lines = {}
  for i = 2, #lines do
    virt_lines[#virt_lines + 1] = { { untab(bufnr, lines[i]), hl } }
  end
  local first = { { untab(bufnr, lines[1]), hl } }
  if #state.items > 1 then
    local hint = (' (%d/%d)'):format(state.index, #state.items)
    table.insert(#virt_lines > 0 and virt_lines[#virt_lines] or first, { hint, 'NonText' })
  end
  api.nvim_buf_set_extmark(bufnr, ghost_ns, cur.row, cur.col, {
    virt_text = first,
    virt_text_pos = 'inline', -- pushes the rest of the line right, as the text would
    virt_lines = #virt_lines > 0 and virt_lines or nil,
    hl_mode = 'combine',
  })
  state.shown_tick, state.shown_at = api.nvim_buf_get_changedtick(bufnr), where(bufnr)
  return true
end

--- Whether the shown suggestion survives the latest edit or cursor move: moving the
--- cursor without typing leaves it behind; typing along (or deleting back) keeps it.
local function still_fits(bufnr, state)
  if not state.items then
    return false
  end
  if api.nvim_buf_get_changedtick(bufnr) == state.shown_tick and where(bufnr) ~= state.shown_at then
    return false
  end
  return render(bufnr, state)
end

--- Keep the items of an answer that is still about this exact buffer state.
--- Asked for with the trigger key and nothing came: say why, once (the model failed or is
--- still loading, or there is simply nothing to suggest here).
local function explain_empty(client, bufnr)
  client:request('codellama/status', vim.empty_dict(), function(err, status)
    if err or type(status) ~= 'table' then
      return
    end
    local message = 'no suggestion here'
    if status.state == 'failed' then
      message = ('no suggestion: the model failed to load: %s'):format(status.error or 'unknown error')
    elseif status.state == 'loading' or status.state == 'idle' then
      message = 'no suggestion yet: the model is still loading'
    end
    vim.notify('codellama-ls: ' .. message, status.state == 'failed' and vim.log.levels.WARN or vim.log.levels.INFO)
  end, bufnr)
end

local function on_response(bufnr, request, err, result)
  local state = states[bufnr]
  if not state or state.pending ~= request then
    return -- superseded, cancelled or detached
  end
  state.pending = nil
  state.wanted = nil
  clear_busy(bufnr)
  local client = vim.lsp.get_client_by_id(state.client_id)
  if err or not result or not client or not api.nvim_buf_is_loaded(bufnr) then
    return
  end
  -- Only for the text and cursor it was computed for: anything else may be stale.
  local row, col = cursor(bufnr)
  if
    api.nvim_buf_get_changedtick(bufnr) ~= request.tick
    or row ~= request.row
    or col ~= request.col
    or not in_insert_mode()
  then
    return
  end
  -- Plain strings only: a snippet (StringValue) would need vim.snippet; our server sends none.
  local texts = {}
  for _, raw in ipairs(result.items or result) do
    if type(raw.insertText) == 'string' and raw.insertText ~= '' then
      texts[#texts + 1] = raw
    end
  end
  if #texts == 0 and request.step and state.items and current(bufnr, state) then
    -- A next/previous key asked for others and none came: the suggestion shown stays.
    vim.notify('codellama-ls: no other suggestion')
    return
  end
  clear(state, bufnr)
  local items = {}
  for _, raw in ipairs(texts) do
    local sr, sc, er, ec = row, col, row, col
    if raw.range then
      sr, sc = byte_position(bufnr, raw.range.start, client.offset_encoding)
      er, ec = byte_position(bufnr, raw.range['end'], client.offset_encoding)
    end
    items[#items + 1] = {
      text = raw.insertText,
      start = { sr, sc },
      start_mark = api.nvim_buf_set_extmark(bufnr, range_ns, sr, sc, { right_gravity = false }),
      end_mark = api.nvim_buf_set_extmark(bufnr, range_ns, er, ec, { right_gravity = true }),
    }
  end
  if #items > 0 then
    -- Asked for by a next/previous key: show the item that many steps from the first.
    state.items, state.index, state.items_kind = items, (request.step or 0) % #items + 1, request.kind
    if not render(bufnr, state) then
      clear(state, bufnr)
    end
  end
  if request.kind == M.INVOKED and not state.items then
    explain_empty(client, bufnr)
  end
end

--- Ask the server now for the cursor position.
---@param kind integer M.INVOKED or M.AUTOMATIC
---@param step? integer for a next/previous key: the item to show, counted from the first
function M.request(bufnr, kind, step)
  local state = states[bufnr]
  local client = state and vim.lsp.get_client_by_id(state.client_id)
  local row, col = cursor(bufnr)
  if not client or not row or not in_insert_mode() then
    return
  end
  cancel(state)
  local win = api.nvim_get_current_win()
  local params = vim.lsp.util.make_position_params(win, client.offset_encoding)
  params.context = { triggerKind = kind }
  local request =
    { tick = api.nvim_buf_get_changedtick(bufnr), row = row, col = col, bufnr = bufnr, kind = kind, step = step }
  state.pending = request
  state.wanted = where(bufnr)
  -- client:request sends any pending didChange first, so the server sees this text.
  local ok, id = client:request(METHOD, params, function(err, result)
    on_response(bufnr, request, err, result)
  end, bufnr)
  if ok then
    request.id = id
    if state.pending == request then -- not answered synchronously
      show_busy(bufnr, row)
    end
  elseif state.pending == request then
    state.pending, state.wanted = nil, nil
  end
end

--- After an edit or a cursor move: keep a suggestion the user is typing along,
--- otherwise drop it and ask again once typing pauses.
local function on_edit(bufnr)
  local state = states[bufnr]
  if not state then
    return
  end
  if still_fits(bufnr, state) then
    -- Greedy decoding would continue the same way, so asking again is wasted work.
    return
  end
  clear(state, bufnr)
  local key = where(bufnr)
  if not config.options.enabled or not key or key == state.wanted then
    return -- off, not our window, or already asked about this very state
  end
  cancel(state)
  state.wanted = key
  state.timer:start(config.options.debounce_ms, 0, function()
    vim.schedule(function()
      -- Still the state the timer was started for? Then ask.
      if states[bufnr] == state and state.wanted == key and where(bufnr) == key then
        state.wanted = nil
        M.request(bufnr, M.AUTOMATIC)
      end
    end)
  end)
end

local function on_leave(bufnr)
  local state = states[bufnr]
  if state then
    cancel(state)
    clear(state, bufnr)
  end
end

function M.attach(client, bufnr)
  if states[bufnr] then
    states[bufnr].client_id = client.id
    return
  end
  local augroup = api.nvim_create_augroup('codellama_ls.ghost.' .. bufnr, { clear = true })
  local state = { client_id = client.id, timer = assert(vim.uv.new_timer()), index = 1, augroup = augroup }
  states[bufnr] = state
  api.nvim_create_autocmd({ 'InsertEnter', 'TextChangedI', 'CursorMovedI' }, {
    group = augroup,
    buffer = bufnr,
    callback = function()
      on_edit(bufnr)
    end,
  })
  api.nvim_create_autocmd({ 'InsertLeave', 'BufLeave' }, {
    group = augroup,
    buffer = bufnr,
    callback = function()
      on_leave(bufnr)
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

function M.detach(bufnr)
  local state = states[bufnr]
  if not state then
    return
  end
  on_leave(bufnr)
  states[bufnr] = nil
  state.timer:close()
  pcall(api.nvim_del_augroup_by_id, state.augroup)
end

--- Whether a suggestion is being computed for `bufnr` (for statuslines and tests).
function M.busy(bufnr)
  local state = states[bufnr]
  return state ~= nil and state.pending ~= nil
end

function M.visible(bufnr)
  local state = states[bufnr]
  return state ~= nil and current(bufnr, state) ~= nil
end

-- How much of the remaining text each accept kind takes.
local function piece(rest, how)
  if how == 'word' then
    return rest:match('^%s*[%w_]+') or rest:match('^%s*[^%w_%s]+') or rest:match('^%s+')
  elseif how == 'line' then
    return rest:match('^\n?[^\n]*')
  end
  return rest
end

--- Accept the shown suggestion, all of it ('all') or its next 'word' or 'line'.
---@return boolean accepted
function M.accept(bufnr, how)
  local state = states[bufnr]
  local cur = state and current(bufnr, state)
  if not cur then
    return false
  end
  local text = piece(cur.rest, how or 'all')
  local lines
  local row, col = cur.row, cur.col
  if text == cur.rest then
    -- All of it: replace the item's whole range (as tracked since the answer) with insertText.
    local start = api.nvim_buf_get_extmark_by_id(bufnr, range_ns, cur.item.start_mark, {})
    local end_ = api.nvim_buf_get_extmark_by_id(bufnr, range_ns, cur.item.end_mark, {})
    lines = vim.split(cur.item.text, '\n', { plain = true })
    row, col = start[1], start[2]
    clear(state, bufnr)
    api.nvim_buf_set_text(bufnr, row, col, end_[1], end_[2], lines)
  else
    -- Part of it: type that part; the rest stays shown, as if the user had typed it.
    lines = vim.split(text, '\n', { plain = true })
    api.nvim_buf_set_text(bufnr, row, col, row, col, lines)
  end
  -- The cursor goes to the end of the inserted text.
  local last = #lines == 1 and col + #lines[1] or #lines[#lines]
  api.nvim_win_set_cursor(0, { row + #lines, last })
  render(bufnr, state)
  return true
end

--- Show the next (delta 1) or previous (-1) item of the last answer.
function M.cycle(bufnr, delta)
  local state = states[bufnr]
  if not state or not state.items or not current(bufnr, state) then
    return false
  end
  if #state.items < 2 then
    if state.items_kind ~= M.INVOKED then
      -- An automatic request gets one suggestion; an explicit one gets the alternatives.
      M.request(bufnr, M.INVOKED, delta)
      return true
    end
    -- Like Emacs: the key did something, it found nothing else to show.
    vim.notify('codellama-ls: no other suggestion')
    return true
  end
  state.index = (state.index - 1 + delta) % #state.items + 1
  if not render(bufnr, state) then
    clear(state, bufnr)
  end
  return true
end

function M.dismiss(bufnr)
  local state = states[bufnr]
  if not state or not current(bufnr, state) then
    return false
  end
  cancel(state)
  clear(state, bufnr)
  return true
end

function M.trigger(bufnr)
  M.request(bufnr, M.INVOKED)
  return true
end

--- Turn automatic requests on or off everywhere.
function M.set_enabled(enabled)
  if not enabled then
    for bufnr in pairs(states) do
      on_leave(bufnr)
    end
  end
end

local actions = {
  accept = function(bufnr)
    return M.accept(bufnr, 'all')
  end,
  accept_word = function(bufnr)
    return M.accept(bufnr, 'word')
  end,
  accept_line = function(bufnr)
    return M.accept(bufnr, 'line')
  end,
  next = function(bufnr)
    return M.cycle(bufnr, 1)
  end,
  prev = function(bufnr)
    return M.cycle(bufnr, -1)
  end,
  dismiss = M.dismiss,
  trigger = M.trigger,
}

--- Run a key's action (from a mapping's <Cmd>, where the buffer may be changed).
function M.run(action, bufnr)
  return actions[action](bufnr or api.nvim_get_current_buf())
end

--- What an <expr> mapping of `lhs` types: the action if it applies now, else `lhs`
--- itself so the key keeps its usual meaning (a real <Tab> when nothing is shown).
--- Text may not change inside <expr>, hence the <Cmd> round trip.
function M.keys(action, bufnr, lhs)
  if action == 'trigger' or M.visible(bufnr) then
    return ('<Cmd>lua require("codellama_ls.ghost").run(%q, %d)<CR>'):format(action, bufnr)
  end
  return lhs
end

local function chunks_text(chunks)
  local parts = {}
  for _, chunk in ipairs(chunks) do
    parts[#parts + 1] = chunk[1]
  end
  return table.concat(parts)
end

-- For tests and statuslines: where the ghost text is and its lines (inline, then virt_lines).
function M.shown(bufnr)
  local marks = api.nvim_buf_get_extmarks(bufnr, ghost_ns, 0, -1, { details = true })
  if #marks == 0 then
    return nil
  end
  local details = marks[1][4]
  local lines = { chunks_text(details.virt_text or {}) }
  for _, chunks in ipairs(details.virt_lines or {}) do
    lines[#lines + 1] = chunks_text(chunks)
  end
  return { row = marks[1][2], col = marks[1][3], lines = lines }
end

return M
