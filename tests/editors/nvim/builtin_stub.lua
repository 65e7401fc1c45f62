-- Neovim 0.12's built-in inline completion cannot run on the 0.11 used in tests, so
-- this checks our adapter (lua/codellama_ls/builtin.lua) against a stand-in for
-- `vim.lsp.inline_completion` that records calls.  Run with `nvim --headless --clean -l`.
local calls = {}
local has_item = true
vim.lsp.inline_completion = {
  enable = function(enable, filter)
    calls[#calls + 1] = { 'enable', enable, filter }
  end,
  get = function(opts)
    calls[#calls + 1] = { 'get', opts }
    return has_item
  end,
  select = function(opts)
    calls[#calls + 1] = { 'select', opts }
  end,
}

local function eq(expected, actual, what)
  if not vim.deep_equal(expected, actual) then
    error(('%s: expected %s, got %s'):format(what, vim.inspect(expected), vim.inspect(actual)), 2)
  end
end

local plugin = require('codellama_ls')
plugin.setup({ enable_server = false })
local builtin = require('codellama_ls.builtin')
eq(builtin, plugin.backend(), 'backend with the 0.12 API present')

local buf = vim.api.nvim_get_current_buf()
plugin.attach({ id = 7, name = 'codellama_ls' }, buf)
eq({ { 'enable', true, { client_id = 7 } } }, calls, 'attach enables it for our client only')

-- Keys: the ones the built-in cannot do are left alone; the others are buffer-local.
local function mapped(lhs)
  return vim.fn.maparg(lhs, 'i', false, true).buffer == 1
end
eq({ true, true, true, true, false, false, false }, {
  mapped('<Tab>'),
  mapped('<M-]>'),
  mapped('<M-[>'),
  mapped('<C-]>'),
  mapped('<M-Right>'),
  mapped('<M-Down>'),
  mapped('<M-\\>'),
}, 'mapped keys')

calls = {}
eq('', builtin.keys('accept', buf, '<Tab>'), '<Tab> with an item')
has_item = false
eq('<Tab>', builtin.keys('accept', buf, '<Tab>'), '<Tab> without an item')
eq({ { 'get', { bufnr = buf } }, { 'get', { bufnr = buf } } }, calls, 'get() calls')

calls = {}
builtin.run('next', buf)
builtin.run('prev', buf)
eq({ { 'select', { bufnr = buf, count = 1 } }, { 'select', { bufnr = buf, count = -1 } } }, calls, 'select() calls')

-- Not the 0.12 API (an older nightly's): our own ghost text instead.
vim.lsp.inline_completion = { enable = function() end }
eq(require('codellama_ls.ghost'), plugin.backend(), 'backend without select()')
vim.lsp.inline_completion = nil
eq(require('codellama_ls.ghost'), plugin.backend(), 'backend on 0.11')

print('PASS')
