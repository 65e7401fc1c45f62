-- How next edits of each shape are drawn and applied, against an in-process stand-in server
-- (vim.lsp.start with a function as cmd) that answers codellama/nextEdit from a list: an edit
-- that spans lines (the lines as they will read, below), a deletion (only the struck text), whole
-- new lines (above the line they go before), an insertion in a line (only the new text, inline),
-- and one for another version (not shown).
local h = dofile(vim.env.CODELLAMA_NVIM_HARNESS)
local api = vim.api

local notified = {}
local asked = {}
local answers = {}

local function server(dispatchers)
  local closing, id = false, 0
  return {
    request = function(method, params, callback)
      id = id + 1
      local result
      if method == 'initialize' then
        result = { capabilities = { textDocumentSync = 2, positionEncoding = 'utf-16' } }
      elseif method == 'codellama/nextEdit' then
        asked[#asked + 1] = params
        local make = table.remove(answers, 1)
        result = { edits = make and { make(params) } or {} }
      end
      vim.schedule(function()
        callback(nil, result)
      end)
      return true, id
    end,
    notify = function(method, params)
      if method:find('^codellama/') then
        notified[#notified + 1] = { method, params.id }
      elseif method == 'exit' then
        dispatchers.on_exit(0, 15)
      end
      return true
    end,
    is_closing = function()
      return closing
    end,
    terminate = function()
      closing = true
    end,
  }
end

local function edit(id, sl, sc, el, ec, text, stale)
  return function(params)
    local version = params.textDocument.version - (stale and 1 or 0)
    return {
      id = id,
      range = { start = { line = sl, character = sc }, ['end'] = { line = el, character = ec } },
      text = text,
      textDocument = { uri = params.textDocument.uri, version = version },
    }
  end
end

local function lines(bufnr)
  return api.nvim_buf_get_lines(bufnr, 0, -1, true)
end

local function drawn(shown)
  local out = {}
  for _, mark in ipairs(shown.marks) do
    local d = mark[4]
    if d.hl_group then
      out[#out + 1] = { 'struck', mark[2], mark[3], d.end_row, d.end_col }
    elseif d.virt_lines then
      local texts = {}
      for _, chunks in ipairs(d.virt_lines) do
        texts[#texts + 1] = chunks[1][1]
      end
      out[#out + 1] = { 'below', mark[2], texts }
    elseif d.virt_text then
      out[#out + 1] = { 'inline', mark[2], mark[3], d.virt_text[1][1] }
    end
  end
  table.sort(out, function(a, b)
    return a[1] > b[1]
  end)
  return out
end

h.run(function()
  require('codellama_ls').setup({ enable_server = false, next_edit = { debounce_ms = 50 } })
  local next_edit = require('codellama_ls.next_edit')
  local bufnr = api.nvim_get_current_buf()
  api.nvim_buf_set_lines(bufnr, 0, -1, true, { 'def f(a):', '    x = g(a)', '    return x' })
  vim.lsp.start({ name = 'codellama_ls', cmd = server, root_dir = vim.fn.getcwd() })
  h.wait_for('the client to attach', h.SLOW, function()
    return vim.lsp.get_clients({ bufnr = bufnr, name = 'codellama_ls' })[1]
  end)
  local function after_change(what)
    api.nvim_win_set_cursor(0, { 1, 0 })
    h.type_keys('A <BS><Esc>') -- a change that leaves the text as it was
    return h.wait_for(what, h.QUICK, function()
      return next_edit.shown(bufnr)
    end)
  end

  -- An edit that spans lines: the struck text, and the lines as they will read below it.
  answers[#answers + 1] = edit('m', 1, 8, 1, 12, 'g(\n        a,\n    )')
  local shown = after_change('the multi-line edit')
  h.eq({
    { 'struck', 1, 8, 1, 12 },
    { 'below', 1, { '    x = g(', '        a,', '    )' } },
  }, drawn(shown), 'a multi-line edit')
  h.type_keys('<M-y>')
  h.eq({ 'def f(a):', '    x = g(', '        a,', '    )', '    return x' }, lines(bufnr), 'applied')
  h.eq({ 4, 4 }, api.nvim_win_get_cursor(0), 'the cursor on the end of the new text (normal mode)')

  -- A deletion: only the struck text.
  answers[#answers + 1] = edit('d', 1, 10, 3, 4, '')
  shown = after_change('the deletion')
  h.eq({ { 'struck', 1, 10, 3, 4 } }, drawn(shown), 'a deletion')
  h.type_keys('<M-y>')
  h.eq({ 'def f(a):', '    x = g()', '    return x' }, lines(bufnr), 'deleted')

  -- Whole lines put in: shown as lines above the line they go before, nothing struck.
  answers[#answers + 1] = edit('l', 2, 0, 2, 0, '    y = x\n')
  shown = after_change('the new line')
  h.eq({ { 'below', 2, { '    y = x' } } }, drawn(shown), 'a new line')
  h.eq(true, shown.marks[1][4].virt_lines_above, 'drawn above the line it goes before')
  h.type_keys('<M-y>')
  h.eq({ 'def f(a):', '    x = g()', '    y = x', '    return x' }, lines(bufnr), 'the new line applied')

  -- An insertion: only the new text, inline where it goes.
  answers[#answers + 1] = edit('i', 1, 10, 1, 10, 'a')
  shown = after_change('the insertion')
  h.eq({ { 'inline', 1, 10, 'a' } }, drawn(shown), 'an insertion')
  h.type_keys('<M-d>')
  h.eq({ 'def f(a):', '    x = g()', '    y = x', '    return x' }, lines(bufnr), 'dismissed: unchanged')

  -- An edit for another version of the buffer is not shown.
  answers[#answers + 1] = edit('s', 1, 10, 1, 10, 'a', true)
  local before = #asked
  api.nvim_win_set_cursor(0, { 1, 0 })
  h.type_keys('A <BS><Esc>')
  h.wait_for('the request', h.QUICK, function()
    return #asked > before and not next_edit.pending(bufnr)
  end)
  h.sleep(100)
  h.eq(nil, next_edit.shown(bufnr), 'an edit for another version')

  h.eq({
    { 'codellama/nextEditShown', 'm' },
    { 'codellama/nextEditAccepted', 'm' },
    { 'codellama/nextEditShown', 'd' },
    { 'codellama/nextEditAccepted', 'd' },
    { 'codellama/nextEditShown', 'l' },
    { 'codellama/nextEditAccepted', 'l' },
    { 'codellama/nextEditShown', 'i' },
    { 'codellama/nextEditRejected', 'i' },
  }, notified, 'the notifications')
end)
