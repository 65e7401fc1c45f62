-- :checkhealth codellama_ls: the server binary and its version, the model's state,
-- GPU offload and the position encoding of the running client.
local M = {}

local health = vim.health

local function server_command()
  local conf = vim.lsp.config['codellama_ls'] or {}
  return conf.cmd
end

local function check_binary(cmd)
  if type(cmd) == 'function' then
    health.info('cmd is a function: cannot check the binary')
    return
  end
  if type(cmd) ~= 'table' or not cmd[1] then
    health.error('no cmd configured for codellama_ls', { 'Set cmd in setup(), e.g. { "codellama-ls" }' })
    return
  end
  local path = vim.fn.exepath(cmd[1])
  if path == '' then
    health.error(('%q not found or not executable'):format(cmd[1]), {
      'Install the server: pip install /path/to/codellama-ls (see :help codellama_ls-install)',
      'Or point cmd at it: require("codellama_ls").setup({ cmd = { "/path/to/codellama-ls" } })',
    })
    return
  end
  health.ok(('server binary: %s'):format(path))
  local version_cmd = { cmd[1], '--version' }
  local ok, result = pcall(function()
    return vim.system(version_cmd, { text = true }):wait(15000)
  end)
  if ok and result.code == 0 then
    health.ok(('version: %s'):format(vim.trim(result.stdout or '')))
  else
    local why = ok and vim.trim(result.stderr or '') or tostring(result)
    health.warn(('`%s --version` failed: %s'):format(cmd[1], why))
  end
end

local function check_client()
  local client = vim.lsp.get_clients({ name = 'codellama_ls' })[1]
  if not client then
    if vim.lsp.is_enabled and vim.lsp.is_enabled('codellama_ls') then
      health.info('codellama_ls is enabled but not running: open a file of one of its filetypes')
    else
      health.warn('codellama_ls is not enabled', {
        'Call require("codellama_ls").setup() or vim.lsp.enable("codellama_ls")',
      })
    end
    return
  end
  health.ok(('client %d running, position encoding %s'):format(client.id, client.offset_encoding))
  local response = client:request_sync('codellama/status', vim.empty_dict(), 10000)
  if not response or response.err or not response.result then
    health.warn('codellama/status did not answer: ' .. vim.inspect(response and response.err))
    return
  end
  local status = response.result
  if status.state == 'ready' then
    health.ok(('model ready: %s (fill-in-the-middle %s, n_ctx %s)'):format(
      tostring(status.model_name or status.model),
      status.fim and 'yes' or 'no',
      tostring(status.n_ctx)
    ))
    local layers = tonumber(status.gpu_layers) or 0
    if layers > 0 then
      health.ok(('GPU offload: %d layers on the GPU'):format(layers))
    else
      health.info('GPU offload: none, the model runs on the CPU', {
        'For a GPU, build llama-cpp-python with CUDA or Metal (main README, "GPU builds") and set nGpuLayers = -1',
      })
    end
  elseif status.state == 'failed' then
    health.error('model failed to load: ' .. tostring(status.error), {
      'Check the model setting (init_options.model); :CodellamaLog shows the server log',
    })
  else
    health.info(('model %s%s'):format(status.state, status.model_name and (': ' .. status.model_name) or ''))
  end
  if status.position_encoding and status.position_encoding ~= client.offset_encoding then
    health.error(('position encoding: server %s, client %s'):format(status.position_encoding, client.offset_encoding))
  end
end

function M.check()
  health.start('codellama-ls')
  if vim.fn.has('nvim-0.11') == 1 then
    health.ok('Neovim ' .. tostring(vim.version()))
  else
    health.error('Neovim 0.11 or later is needed')
  end
  check_binary(server_command())
  check_client()
  local plugin = require('codellama_ls')
  local mode = plugin.backend() == require('codellama_ls.ghost') and 'ghost text (the plugin\'s 0.11 client)'
    or 'built-in vim.lsp.inline_completion'
  health.info('suggestions shown as ' .. mode)
  if not vim.o.termguicolors then
    local hl = vim.api.nvim_get_hl(0, { name = require('codellama_ls.config').options.hl_group, link = false })
    if not hl.ctermfg and not hl.italic and not (hl.cterm and hl.cterm.italic) then
      health.warn('the ghost text highlight has no terminal colour: it looks like code without termguicolors')
    end
  end
end

return M
