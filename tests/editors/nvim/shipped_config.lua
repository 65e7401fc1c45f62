-- `vim.lsp.enable('codellama_ls')` with the shipped lsp/codellama_ls.lua and nothing else: the
-- server must not warn about anything.  Its `init_options = {}` goes out as `[]` (Neovim
-- encodes an empty Lua table as an array), which the server once reported as
-- "initializationOptions: expected an object of settings, got list".
-- Run by tests/editors/test_nvim_config.py:
--   nvim --headless --clean --cmd 'set rtp^=editors/nvim' -c 'lua dofile(...)'
-- with CODELLAMA_NVIM_* variables naming the file, the server command and a log.
local env = vim.env
local LOG = assert(env.CODELLAMA_NVIM_LOG, 'CODELLAMA_NVIM_LOG not set')
local FILE = assert(env.CODELLAMA_NVIM_FILE, 'CODELLAMA_NVIM_FILE not set')
local SERVER = vim.json.decode((assert(env.CODELLAMA_NVIM_SERVER, 'CODELLAMA_NVIM_SERVER not set')))
local TIMEOUT = 30000

local function log(fmt, ...)
  vim.fn.writefile(vim.split(select('#', ...) > 0 and fmt:format(...) or fmt, '\n'), LOG, 'a')
end

local function fail(fmt, ...)
  log('FAIL: ' .. fmt, ...)
  vim.cmd('cquit 1')
end

-- What the server shows (window/showMessage) and what reaches the user (vim.notify).
local shown = {}
local show_message = vim.lsp.handlers['window/showMessage']
vim.lsp.handlers['window/showMessage'] = function(err, result, ctx, config)
  shown[#shown + 1] = result and result.message or vim.inspect(err)
  log('window/showMessage: %s', shown[#shown])
  return show_message(err, result, ctx, config)
end
local notify = vim.notify
vim.notify = function(msg, level, opts)
  log('notify(%s): %s', tostring(level), msg)
  -- The plugin's own notices (the model's loading progress) are INFO, not warnings.
  if (level or vim.log.levels.INFO) >= vim.log.levels.WARN then
    shown[#shown + 1] = msg
  end
  return notify(msg, level, opts)
end

-- The test is only about the shipped config if that config still sends an empty table.
local shipped = vim.lsp.config.codellama_ls
if type(shipped.init_options) ~= 'table' or next(shipped.init_options) ~= nil then
  fail('lsp/codellama_ls.lua no longer sets init_options = {}: %s', vim.inspect(shipped.init_options))
end
log('initializationOptions as Neovim sends them: %s', vim.json.encode(shipped.init_options))

-- Only the command differs from the shipped config: the test's server instead of `codellama-ls` on PATH.
vim.lsp.config('codellama_ls', { cmd = SERVER })
vim.lsp.enable('codellama_ls')
vim.cmd.edit(vim.fn.fnameescape(FILE))
local bufnr = vim.api.nvim_get_current_buf()

local client
if
  not vim.wait(TIMEOUT, function()
    client = vim.lsp.get_clients({ bufnr = bufnr, name = 'codellama_ls' })[1]
    return client ~= nil and client.initialized
  end, 20)
then
  fail('the client did not attach and initialize within %d ms', TIMEOUT)
end

-- A round trip after initialize and didChangeConfiguration: whatever the server had to say
-- about the settings has been sent before this answer.
local status
client:request('codellama/status', vim.empty_dict(), function(err, result)
  status = err and ('error: ' .. vim.inspect(err)) or result.state
end, bufnr)
if not vim.wait(TIMEOUT, function()
  return status ~= nil
end, 20) then
  fail('no answer to codellama/status')
end
vim.wait(300) -- let any message queued behind the answer arrive
log('server state: %s', status)

if #shown > 0 then
  fail('the server said: %s', table.concat(shown, ' | '))
end
log('PASS')
vim.cmd('qall!')
