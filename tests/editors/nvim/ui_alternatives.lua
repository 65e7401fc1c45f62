-- Alternatives with the scripted server (SCRIPTED_ALTERNATIVES): an automatic request shows one
-- suggestion; <M-]> asks explicitly and shows the second of the server's items with "(2/3)";
-- <M-]>/<M-[> cycle through them; <Tab> accepts the one shown.
local h = dofile(vim.env.CODELLAMA_NVIM_HARNESS)
local api = vim.api

h.run(function()
  local plugin = require('codellama_ls')
  plugin.setup({ cmd = vim.json.decode(vim.env.CODELLAMA_NVIM_SERVER), debounce_ms = 20 })
  vim.cmd.edit(vim.fn.fnameescape(vim.env.CODELLAMA_NVIM_FILE))
  local bufnr = api.nvim_get_current_buf()
  local _, state = h.wait_ready(bufnr)
  h.eq('ready', state, 'model state')
  local ghost = require('codellama_ls.ghost')
  local texts = vim.json.decode(vim.env.SCRIPTED_ALTERNATIVES)

  local function shown()
    local at = ghost.shown(bufnr)
    return at and table.concat(at.lines, '\n')
  end

  -- Typing asks automatically: one suggestion, no count.
  api.nvim_win_set_cursor(0, { 2, 0 })
  h.type_keys('A')
  h.type_keys('r')
  h.wait_for('the automatic suggestion', h.SLOW, function()
    return shown()
  end)
  h.eq(texts[1], shown(), 'the automatic suggestion')

  -- The next key asks for the alternatives and shows the second.
  h.type_keys('<M-]>')
  h.wait_for('the second suggestion', h.SLOW, function()
    return shown() == texts[2] .. ' (2/3)'
  end)
  h.type_keys('<M-]>')
  h.eq(texts[3] .. ' (3/3)', shown(), 'after <M-]>')
  h.type_keys('<M-]>')
  h.eq(texts[1] .. ' (1/3)', shown(), 'after <M-]> past the last')
  h.type_keys('<M-[>')
  h.eq(texts[3] .. ' (3/3)', shown(), 'after <M-[>')
  h.type_keys('<Tab>')
  h.eq('    r' .. texts[3], api.nvim_buf_get_lines(bufnr, 1, 2, true)[1], 'the accepted line')
  h.type_keys('<Esc>')

  -- The line typed afresh, and the automatic suggestion that entering insert mode asks for once
  -- its events run: let them, or they cancel the explicit request they come after (as they would
  -- a second later for a user).
  local function afresh(what)
    api.nvim_buf_set_lines(bufnr, 1, 2, true, { '    r' })
    api.nvim_win_set_cursor(0, { 2, 0 })
    h.type_keys('A')
    h.wait_for(what, h.SLOW, function()
      return shown() == texts[1]
    end)
  end

  -- The explicit trigger: the first of three, counted.
  afresh('the automatic suggestion again')
  h.type_keys('<M-\\>')
  h.wait_for('the explicit suggestions', h.SLOW, function()
    return shown() == texts[1] .. ' (1/3)'
  end)
  h.type_keys('<Esc>')

  -- An automatic suggestion, and the next key's request finds no other (a server whose budget
  -- decoded none, answering at once): the suggestion shown stays, and the user is told.
  afresh('the automatic suggestion once more')
  local client = vim.lsp.get_clients({ bufnr = bufnr, name = 'codellama_ls' })[1]
  local request = client.request
  client.request = function(self, method, params, handler, buffer)
    if method ~= 'textDocument/inlineCompletion' then
      return request(self, method, params, handler, buffer)
    end
    handler(nil, { items = {} })
    return true, 0
  end
  h.type_keys('<M-]>')
  client.request = request
  h.eq(texts[1], shown(), 'the suggestion after <M-]> found no other')
  h.truthy(h.notice('no other suggestion'), '<M-]> that found no other said nothing')
  h.type_keys('<Esc>')
end)
