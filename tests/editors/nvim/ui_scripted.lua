-- With the scripted server: the model's loading shown as messages, the busy indicator
-- while a suggestion is computed (SCRIPTED_DELAY makes it take a while), and :CodellamaLog.
local h = dofile(vim.env.CODELLAMA_NVIM_HARNESS)
local api = vim.api

h.run(function()
  local plugin = require('codellama_ls')
  plugin.setup({ cmd = vim.json.decode(vim.env.CODELLAMA_NVIM_SERVER), enabled = false })
  vim.cmd.edit(vim.fn.fnameescape(vim.env.CODELLAMA_NVIM_FILE))
  local bufnr = api.nvim_get_current_buf()
  local _, state = h.wait_ready(bufnr)
  h.eq('ready', state, 'model state')

  -- $/progress of the load: its beginning and its end, as messages.
  h.wait_for('the end of loading as a message', h.QUICK, function()
    return h.notice('codellama-ls: Model ready')
  end)
  h.truthy(h.notice('codellama-ls: Loading model'), 'no message when loading began')
  h.eq('', plugin.statusline(), 'statusline when idle and loaded')
  -- A download reports percentages: the statusline follows them until the end.
  local client = vim.lsp.get_clients({ bufnr = bufnr, name = 'codellama_ls' })[1]
  local function progress(value)
    api.nvim_exec_autocmds('LspProgress', {
      pattern = value.kind,
      data = { client_id = client.id, params = { token = 'test', value = value } },
    })
  end
  progress({ kind = 'report', message = 'Downloading codellama-7b', percentage = 42 })
  h.eq('codellama: Downloading codellama-7b 42%', plugin.statusline(), 'statusline while downloading')
  progress({ kind = 'end', message = 'Model ready' })
  h.eq('', plugin.statusline(), 'statusline after the load')

  -- The busy indicator while the request is in flight, gone with the answer.
  local ghost = require('codellama_ls.ghost')
  local busy_ns = api.nvim_create_namespace('codellama_ls.busy')
  api.nvim_win_set_cursor(0, { 2, 0 })
  h.type_keys('A')
  h.type_keys('<M-\\>')
  h.truthy(ghost.busy(bufnr), 'not busy right after asking')
  local marks = api.nvim_buf_get_extmarks(bufnr, busy_ns, 0, -1, { details = true })
  h.eq(1, #marks, 'busy marks')
  h.eq(1, marks[1][2], 'busy mark row')
  h.eq('⋯', marks[1][4].virt_text[1][1], 'busy mark text')
  h.eq('codellama ⋯', plugin.statusline(), 'statusline while busy')
  h.wait_for('the suggestion', h.SLOW, function()
    return ghost.shown(bufnr)
  end)
  h.eq(false, ghost.busy(bufnr), 'busy after the answer')
  h.eq({}, api.nvim_buf_get_extmarks(bufnr, busy_ns, 0, -1, {}), 'busy marks after the answer')
  -- One suggestion: the next-suggestion key says there is no other, and the ghost stays.
  h.type_keys('<M-]>')
  h.truthy(h.notice('no other suggestion'), '<M-]> with one suggestion said nothing')
  h.truthy(ghost.shown(bufnr), 'the ghost after <M-]>')
  h.type_keys('<Esc>')

  -- :checkhealth with the model ready: its name and GPU offload.
  vim.cmd('checkhealth codellama_ls')
  local report = table.concat(api.nvim_buf_get_lines(0, 0, -1, true), '\n')
  h.log('checkhealth:\n%s', report)
  h.truthy(report:find('model ready: scripted', 1, true), 'checkhealth: model ready')
  h.truthy(report:find('GPU offload: none', 1, true), 'checkhealth: GPU offload')
  vim.cmd('bwipeout')

  -- :CodellamaLog shows the server's stderr in a buffer that can be copied.
  local log = vim.fn.join(plugin.log_lines(), '\n')
  h.truthy(log:find('model ready', 1, true), 'no "model ready" in the server log:\n' .. log)
  vim.cmd('CodellamaLog')
  h.truthy(api.nvim_buf_get_name(0):find('codellama-ls://log', 1, true), 'log buffer name')
  local shown = table.concat(api.nvim_buf_get_lines(0, 0, -1, true), '\n')
  h.truthy(shown:find('model ready', 1, true), 'no "model ready" in the :CodellamaLog buffer')
  vim.cmd('%yank')
  h.truthy(vim.fn.getreg('"'):find('model ready', 1, true), 'yanking the log buffer')
end)
