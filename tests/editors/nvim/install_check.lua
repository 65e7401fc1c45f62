-- After the user's init.lua installed the plugin from a clone (tests/editors/test_nvim_install.py):
-- the plugin came from that clone, started, and attaches the server to a Python buffer.
local LOG = assert(vim.env.CODELLAMA_NVIM_LOG, 'CODELLAMA_NVIM_LOG not set')
local FILE = assert(vim.env.CODELLAMA_NVIM_FILE, 'CODELLAMA_NVIM_FILE not set')
local INSTALLED = assert(vim.env.CODELLAMA_NVIM_INSTALLED, 'CODELLAMA_NVIM_INSTALLED not set')

local function log(fmt, ...)
  vim.fn.writefile({ select('#', ...) > 0 and fmt:format(...) or fmt }, LOG, 'a')
end

local function check(ok, fmt, ...)
  if not ok then
    log('FAIL: ' .. fmt, ...)
    vim.cmd('cquit 1')
  end
end

local function installed_copy(path)
  return path ~= nil and vim.startswith(vim.fs.normalize(vim.fn.resolve(path)), INSTALLED .. '/')
end

local module = vim.api.nvim_get_runtime_file('lua/codellama_ls/init.lua', false)[1]
check(installed_copy(module), 'lua/codellama_ls from %s, not from the installed copy in %s', tostring(module), INSTALLED)
check(vim.g.loaded_codellama_ls == true, 'plugin/codellama_ls.lua did not run')
check(vim.fn.exists(':CodellamaStatus') == 2, ':CodellamaStatus is not defined')
check(installed_copy(vim.api.nvim_get_runtime_file('doc/codellama_ls.txt', false)[1]), ':help codellama_ls missing')
check(pcall(vim.cmd.help, 'codellama_ls'), ':help codellama_ls fails')
vim.cmd.close()

vim.cmd.edit(vim.fn.fnameescape(FILE))
local bufnr = vim.api.nvim_get_current_buf()
local client
local attached = vim.wait(30000, function()
  client = vim.lsp.get_clients({ bufnr = bufnr, name = 'codellama_ls' })[1]
  return client ~= nil and client.initialized
end, 20)
check(attached, 'the server did not attach to %s', FILE)
log('model asked for: %s', vim.inspect(client.config.init_options.model))
check(client.config.init_options.model == 'codellama-7b', 'setup() options did not reach the server')
log('PASS')
vim.cmd('qall!')
