-- codellama-ls for Neovim 0.11+: server config, ghost text, keys and commands.
--
--   require('codellama_ls').setup({ init_options = { model = '/path/to/model.gguf' } })
--
-- `vim.lsp.enable('codellama_ls')` alone also works (defaults): plugin/codellama_ls.lua
-- hooks LspAttach, and lsp/codellama_ls.lua holds the server config.
local config = require('codellama_ls.config')

local api = vim.api
local M = {}

M.NAME = 'codellama_ls'
local STATUS_METHOD = 'codellama/status'

-- Which client shows the suggestions: Neovim 0.12's own when there is one (and the
-- user did not say builtin = false), else ours (ghost.lua).
local function backend()
  local builtin = require('codellama_ls.builtin')
  if config.options.builtin ~= false and builtin.available() then
    return builtin
  end
  return require('codellama_ls.ghost')
end
M.backend = backend

local function map_keys(bufnr)
  local impl = backend()
  for action, lhs in pairs(config.options.keymaps) do
    if lhs and not (impl.unsupported and impl.unsupported[action]) then
      vim.keymap.set('i', lhs, function()
        return backend().keys(action, bufnr, lhs)
      end, { buffer = bufnr, expr = true, replace_keycodes = true, desc = 'codellama-ls: ' .. action })
    end
  end
end

local function unmap_keys(bufnr, keymaps)
  for _, lhs in pairs(keymaps) do
    if lhs then
      pcall(vim.keymap.del, 'i', lhs, { buffer = bufnr })
    end
  end
end

-- Code actions run in the background under the server's $/progress: token -> { client_id, title }.
M.actions = {}
local ACTION_PREFIX = 'codellama-ls/action/'

--- Stop the running code actions (nothing they computed is applied); true if there was one.
function M.cancel()
  local any = false
  for token, action in pairs(M.actions) do
    local client = vim.lsp.get_client_by_id(action.client_id)
    if client then
      client:notify('window/workDoneProgress/cancel', { token = token })
      any = true
    end
  end
  return any
end

-- The cancel key cancels a running action, and is itself otherwise.
local function map_cancel(bufnr)
  local lhs = config.options.cancel_key
  if lhs then
    vim.keymap.set('n', lhs, function()
      return M.cancel() and '' or lhs
    end, { buffer = bufnr, expr = true, replace_keycodes = true, desc = 'codellama-ls: cancel the code action' })
  end
end

--- Called on LspAttach for our client (see plugin/codellama_ls.lua).
function M.attach(client, bufnr)
  backend().attach(client, bufnr)
  require('codellama_ls.next_edit').attach(client, bufnr)
  map_keys(bufnr)
  map_cancel(bufnr)
  -- The completion fallback sends snippets: see lua/codellama_ls/completion.lua.
  api.nvim_create_autocmd('CompleteDone', {
    group = api.nvim_create_augroup('codellama_ls.completion.' .. bufnr, { clear = true }),
    buffer = bufnr,
    callback = function()
      require('codellama_ls.completion').on_complete_done(bufnr, client.id)
    end,
  })
end

function M.detach(bufnr)
  backend().detach(bufnr)
  require('codellama_ls.next_edit').detach(bufnr)
  pcall(api.nvim_del_augroup_by_name, 'codellama_ls.completion.' .. bufnr)
  unmap_keys(bufnr, config.options.keymaps)
  if config.options.cancel_key then
    pcall(vim.keymap.del, 'n', config.options.cancel_key, { buffer = bufnr })
  end
end

-- For your own mappings (not <expr> ones): each returns true when it did something.
function M.accept()
  return backend().run('accept', api.nvim_get_current_buf()) == true
end
function M.accept_word()
  return backend().run('accept_word', api.nvim_get_current_buf()) == true
end
function M.accept_line()
  return backend().run('accept_line', api.nvim_get_current_buf()) == true
end
function M.dismiss()
  return backend().run('dismiss', api.nvim_get_current_buf()) == true
end
function M.trigger()
  return backend().run('trigger', api.nvim_get_current_buf()) == true
end
-- The next edit, for your own mappings: jump to it, apply it, dismiss it.
function M.next_edit_jump()
  return require('codellama_ls.next_edit').run('jump') == true
end
function M.next_edit_accept()
  return require('codellama_ls.next_edit').run('accept') == true
end
function M.next_edit_dismiss()
  return require('codellama_ls.next_edit').run('dismiss') == true
end

function M.toggle(enabled)
  if enabled == nil then
    enabled = not config.options.enabled
  end
  config.options.enabled = enabled
  backend().set_enabled(enabled)
  require('codellama_ls.next_edit').set_enabled(enabled)
  return enabled
end

local function client_for(bufnr)
  return vim.lsp.get_clients({ name = M.NAME, bufnr = bufnr })[1] or vim.lsp.get_clients({ name = M.NAME })[1]
end

--- Ask the server for `codellama/status`; callback(err, status).
function M.status(callback, bufnr)
  local client = client_for(bufnr or api.nvim_get_current_buf())
  if not client then
    callback('codellama-ls is not running', nil)
    return
  end
  -- An empty object, not nil: Neovim would leave "params" out, which some servers reject.
  client:request(STATUS_METHOD, vim.empty_dict(), function(err, result)
    callback(err and (err.message or vim.inspect(err)) or nil, result)
  end, bufnr)
end

local function describe(status)
  if status.state == 'failed' then
    return ('model failed: %s'):format(status.error or '?')
  end
  local parts = { status.state }
  if status.model_name or status.model then
    parts[#parts + 1] = tostring(status.model_name or status.model)
  end
  if status.state == 'ready' then
    parts[#parts + 1] = ('fim=%s n_ctx=%s gpu_layers=%s'):format(
      tostring(status.fim),
      tostring(status.n_ctx),
      tostring(status.gpu_layers)
    )
  end
  return table.concat(parts, ', ')
end

local function show_status()
  M.status(function(err, status)
    local where = config.options.enabled and 'on' or 'off'
    local mode = backend() == require('codellama_ls.ghost') and 'ghost text' or 'built-in inline completion'
    if err then
      vim.notify(('codellama-ls: %s'):format(err), vim.log.levels.WARN)
    else
      vim.notify(('codellama-ls: %s (suggestions %s, %s)'):format(describe(status), where, mode))
    end
  end)
end

--- For a statusline: what codellama-ls is doing in the current buffer ('' when idle).
function M.statusline()
  local bufnr = api.nvim_get_current_buf()
  local ghost = require('codellama_ls.ghost')
  if backend() == ghost and ghost.busy(bufnr) then
    return 'codellama ' .. (config.options.busy_indicator or '…')
  end
  local _, action = next(M.actions)
  if action then
    return 'codellama: ' .. action.title
  end
  return M.loading and ('codellama: ' .. M.loading) or ''
end

-- The model's load, sent by the server as $/progress: shown where messages appear, and
-- kept in M.loading for statuslines.  Failures come as window/showMessage, which Neovim shows.
local function on_progress(args)
  local client = vim.lsp.get_client_by_id(args.data.client_id)
  local value = args.data.params and args.data.params.value
  if not client or client.name ~= M.NAME or type(value) ~= 'table' then
    return
  end
  local token = args.data.params.token
  if type(token) == 'string' and token:sub(1, #ACTION_PREFIX) == ACTION_PREFIX then
    -- An action: cancellable with the cancel key or :CodellamaCancel until it ends.
    if value.kind == 'begin' then
      M.actions[token] = { client_id = client.id, title = value.title or 'action' }
      if config.options.notify_progress then
        local how = config.options.cancel_key or ':CodellamaCancel'
        vim.notify(('codellama-ls: %s (%s cancels)'):format(value.title or 'action', how))
      end
    elseif value.kind == 'end' then
      M.actions[token] = nil
      if value.message and value.message ~= 'done' then
        vim.notify('codellama-ls: action ' .. value.message)
      end
    end
    return
  end
  local text = value.message or value.title or ''
  if value.kind == 'end' then
    M.loading = nil
  else
    M.loading = value.percentage and ('%s %d%%'):format(text, value.percentage) or text
  end
  if not config.options.notify_progress then
    return
  end
  if value.kind == 'report' then
    -- Percentages replace each other in the message area, without filling :messages.
    api.nvim_echo({ { 'codellama-ls: ' .. M.loading } }, false, {})
  else
    vim.notify('codellama-ls: ' .. text, vim.log.levels.INFO)
  end
  vim.cmd.redrawstatus()
end

local told_missing = {}
-- vim.lsp.enable() skips a server whose command is not executable and says so only in the
-- LSP log: say it where the user looks, once per command.
local function check_command(bufnr)
  if not vim.lsp.is_enabled or not vim.lsp.is_enabled(M.NAME) then
    return
  end
  local conf = vim.lsp.config[M.NAME]
  local cmd = conf and conf.cmd
  if type(cmd) ~= 'table' or not cmd[1] or told_missing[cmd[1]] then
    return
  end
  if conf.filetypes and not vim.tbl_contains(conf.filetypes, vim.bo[bufnr].filetype) then
    return
  end
  if vim.fn.executable(cmd[1]) == 0 then
    told_missing[cmd[1]] = true
    -- Scheduled: an error message inside the FileType autocmd would abort the :edit.
    vim.schedule_wrap(vim.notify)(
      ('codellama-ls: the server command %q was not found or is not executable, so no suggestions. '
        .. 'Install the server (:help codellama_ls-install) '
        .. 'or set cmd in setup(). :checkhealth codellama_ls tells more.'):format(cmd[1]),
      vim.log.levels.ERROR
    )
  end
end
M._check_command = check_command

--- The server's log lines (its stderr, which Neovim keeps in its LSP log), oldest first.
function M.log_lines()
  local conf = vim.lsp.config[M.NAME] or {}
  local program = type(conf.cmd) == 'table' and conf.cmd[1] or nil
  local lines = {}
  local file = io.open(vim.lsp.get_log_path(), 'r')
  if not file then
    return lines
  end
  for line in file:lines() do
    -- [ERROR][date] .../_transport.lua:36	"rpc"	"<program>"	"stderr"	"<text>"
    local who, text = line:match('\t"rpc"\t"(.-)"\t"stderr"\t(".*")$')
    if who and (program == nil or who == program) then
      local chunk = load('return ' .. text, 'lsp.log', 't', {})
      local ok, value = pcall(chunk or error)
      if ok and type(value) == 'string' then
        vim.list_extend(lines, vim.split(value:gsub('\n$', ''), '\n', { plain = true }))
      end
    end
  end
  file:close()
  return lines
end

--- :CodellamaLog: the server's log in a scratch buffer, to read, search and yank.
function M.show_log()
  local lines = M.log_lines()
  if #lines == 0 then
    lines = { ('(no codellama-ls log lines in %s)'):format(vim.lsp.get_log_path()) }
  end
  vim.cmd('botright new')
  local bufnr = api.nvim_get_current_buf()
  vim.bo[bufnr].buftype = 'nofile'
  vim.bo[bufnr].bufhidden = 'wipe'
  vim.bo[bufnr].swapfile = false
  pcall(api.nvim_buf_set_name, bufnr, 'codellama-ls://log')
  api.nvim_buf_set_lines(bufnr, 0, -1, false, lines)
  vim.bo[bufnr].modifiable = false
  vim.bo[bufnr].filetype = 'log'
  api.nvim_win_set_cursor(0, { #lines, 0 })
  return bufnr
end

--- The ghost text's highlight, unless the colorscheme (or the user) defines one.  Not a
--- link to Comment: Neovim's default Comment sets only a GUI colour, so without
--- 'termguicolors' ghost text would look like code.  Grey (colour 8 exists in 16- and
--- 256-colour terminals) or Comment's own terminal colour, and italic.
function M.define_highlight()
  local comment = api.nvim_get_hl(0, { name = 'Comment', link = false })
  api.nvim_set_hl(0, 'CodellamaGhost', {
    default = true,
    fg = comment.fg or 0x808080,
    ctermfg = comment.ctermfg or 8,
    italic = true,
  })
  -- The next edit's diff: the replaced text struck through on the diff colours, the new text as added.
  local delete = api.nvim_get_hl(0, { name = 'DiffDelete', link = false })
  api.nvim_set_hl(0, 'CodellamaNextEditDelete', {
    default = true,
    fg = delete.fg,
    bg = delete.bg,
    ctermfg = delete.ctermfg,
    ctermbg = delete.ctermbg,
    strikethrough = true,
  })
  api.nvim_set_hl(0, 'CodellamaNextEditAdd', { default = true, link = 'DiffAdd' })
end

--- Autocmds, commands and highlight; safe to call more than once.
function M.register()
  M.define_highlight()
  require('codellama_ls.actions').register()
  local group = api.nvim_create_augroup('codellama_ls', { clear = true })
  -- :colorscheme clears highlights; define ours again after it (its own definition wins).
  api.nvim_create_autocmd('ColorScheme', { group = group, callback = M.define_highlight })
  api.nvim_create_autocmd('LspAttach', {
    group = group,
    callback = function(args)
      local client = vim.lsp.get_client_by_id(args.data.client_id)
      if client and client.name == M.NAME then
        M.attach(client, args.buf)
      end
    end,
  })
  api.nvim_create_autocmd('LspDetach', {
    group = group,
    callback = function(args)
      local client = vim.lsp.get_client_by_id(args.data.client_id)
      if client and client.name == M.NAME then
        M.detach(args.buf)
      end
    end,
  })
  api.nvim_create_user_command('CodellamaToggle', function(cmd)
    local wanted = ({ on = true, off = false })[cmd.args] -- nil: flip
    local enabled = M.toggle(wanted)
    vim.notify(('codellama-ls: suggestions %s'):format(enabled and 'on' or 'off'))
  end, {
    nargs = '?',
    complete = function()
      return { 'on', 'off' }
    end,
    desc = 'Turn codellama-ls suggestions on or off',
  })
  api.nvim_create_user_command('CodellamaStatus', show_status, { desc = 'Show the codellama-ls model state' })
  api.nvim_create_user_command('CodellamaLog', M.show_log, { desc = "Show the codellama-ls server's log" })
  api.nvim_create_user_command('CodellamaCancel', function()
    if not M.cancel() then
      vim.notify('codellama-ls: no action is running')
    end
  end, { desc = 'Stop the running codellama-ls code action' })
  api.nvim_create_autocmd('LspProgress', { group = group, callback = on_progress })
  api.nvim_create_autocmd('FileType', {
    group = group,
    callback = function(args)
      check_command(args.buf)
    end,
  })
end

-- The user's server options as a vim.lsp.config() table (nil fields keep lsp/codellama_ls.lua's).
local function server_config(o)
  local fields = {}
  for _, key in ipairs({ 'cmd', 'filetypes', 'root_markers', 'init_options', 'settings' }) do
    fields[key] = o[key]
  end
  return vim.tbl_deep_extend('force', o.lsp or {}, fields)
end

---@param opts table? see lua/codellama_ls/config.lua
function M.setup(opts)
  local previous = config.options.keymaps
  local previous_next_edit = (config.options.next_edit or {}).keymaps
  local o = config.set(opts)
  M.register()
  vim.lsp.config(M.NAME, server_config(o))
  if o.enable_server then
    vim.lsp.enable(M.NAME)
    check_command(api.nvim_get_current_buf()) -- setup() after the file was opened (lazy loading)
  end
  -- setup() after the server attached (lazy loading): apply the new keys there too.
  for _, client in ipairs(vim.lsp.get_clients({ name = M.NAME })) do
    for bufnr in pairs(client.attached_buffers) do
      unmap_keys(bufnr, previous)
      require('codellama_ls.next_edit').unmap_keys(bufnr, previous_next_edit)
      M.attach(client, bufnr)
    end
  end
end

return M
