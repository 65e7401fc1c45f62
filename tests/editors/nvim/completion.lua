-- The textDocument/completion fallback through Neovim's own LSP completion: ask with
-- <C-x><C-o> (vim.lsp.omnifunc) or vim.lsp.completion.get(), accept the item with <C-y>,
-- and check the line(s).  CODELLAMA_NVIM_CASE (JSON): { row, col (1-based row, byte col),
-- expected (lines from row), snippets (false: the client says it has no snippet support),
-- how ('omnifunc' or 'vim.lsp.completion') }.
local h = dofile(vim.env.CODELLAMA_NVIM_HARNESS)
local api = vim.api

local CASE = vim.json.decode(vim.env.CODELLAMA_NVIM_CASE)
local SERVER = vim.json.decode(vim.env.CODELLAMA_NVIM_SERVER)

h.run(function()
  local lsp = {}
  if CASE.snippets == false then
    lsp.capabilities = { textDocument = { completion = { completionItem = { snippetSupport = false } } } }
  end
  -- Ghost text off: only the completion request runs.
  require('codellama_ls').setup({ cmd = SERVER, enabled = false, lsp = lsp })
  vim.cmd.edit(vim.fn.fnameescape(vim.env.CODELLAMA_NVIM_FILE))
  local bufnr = api.nvim_get_current_buf()
  local _, state = h.wait_ready(bufnr)
  h.eq('ready', state, 'model state')

  api.nvim_win_set_cursor(0, { CASE.row, CASE.col })
  h.type_keys(CASE.col == #api.nvim_get_current_line() and 'A' or 'i')
  if CASE.how == 'vim.lsp.completion' then
    -- As a user of Neovim's own LSP completion has it: enabled for the client.
    local client = vim.lsp.get_clients({ bufnr = bufnr, name = 'codellama_ls' })[1]
    vim.lsp.completion.enable(true, client.id, bufnr)
    h.type_keys('<Cmd>lua vim.lsp.completion.get()<CR>')
  else
    h.type_keys('<C-x><C-o>') -- 'omnifunc' is vim.lsp.omnifunc in LSP buffers
  end
  -- Headless Neovim draws no menu (pumvisible() stays 0), but completion is active.
  h.wait_for('the completion items', h.SLOW, function()
    return #vim.fn.complete_info({ 'items' }).items > 0
  end)
  h.log('menu: %s', vim.inspect(vim.fn.complete_info({ 'items' }).items))
  h.log('line: %s, completeopt %s', api.nvim_get_current_line(), vim.o.completeopt)
  if CASE.finish == 'esc' then
    -- The default completeopt (menu,popup) with one item: it is in the buffer at once, with no
    -- menu to accept it from, and the user goes on (CompleteDone's reason is 'discard').
    h.type_keys('<Esc>')
    h.sleep(200)
  else
    -- Headless, <C-y> also falls through to i_CTRL-Y (copy the character above the cursor)
    -- once the item is in: each case ends on a line longer than the one above it.
    h.type_keys('<C-y>')
    h.sleep(200) -- CompleteDone expands the snippet
    h.type_keys('<Esc>')
  end
  local lines = api.nvim_buf_get_lines(0, CASE.row - 1, CASE.row - 1 + #CASE.expected, false)
  h.eq(CASE.expected, lines, 'lines after accepting the completion item')
end)
