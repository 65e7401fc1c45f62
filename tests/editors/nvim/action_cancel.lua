-- A code action never holds Neovim, and the cancel key (<C-c>) or :CodellamaCancel stops it,
-- against the scripted instruct model answering slowly: the buffer stays as it was after a
-- cancel; left alone, the action lands.
local h = dofile(vim.env.CODELLAMA_NVIM_HARNESS)
local api = vim.api

local function run_action(title_part)
  vim.lsp.buf.code_action({
    apply = true,
    filter = function(action)
      return action.title:find(title_part, 1, true) ~= nil
    end,
  })
end

local function text(bufnr)
  return table.concat(api.nvim_buf_get_lines(bufnr, 0, -1, true), '\n')
end

h.run(function()
  local cl = require('codellama_ls')
  cl.setup({ cmd = vim.json.decode(vim.env.CODELLAMA_NVIM_SERVER), enabled = false })
  vim.cmd.edit(vim.fn.fnameescape(vim.env.CODELLAMA_NVIM_FILE))
  local bufnr = api.nvim_get_current_buf()
  local _, state = h.wait_ready(bufnr)
  h.eq('ready', state, 'model state')
  local original = text(bufnr)

  local function running()
    return next(cl.actions) ~= nil
  end

  -- 1. The cancel key.
  api.nvim_win_set_cursor(0, { 9, 12 })
  run_action('generate tests')
  h.wait_for('the action to run', h.QUICK, running)
  h.truthy(cl.statusline():find('generate tests', 1, true), 'the statusline names the action: ' .. cl.statusline())
  -- As typed: headless, nvim_input takes <C-c> as an interrupt before mappings (a terminal's
  -- <C-c> reaches the mapping, as under tmux).
  api.nvim_feedkeys(vim.keycode('<C-c>'), 'mt', false)
  h.wait_for('the action to end', h.QUICK, function()
    return not running()
  end)
  h.truthy(h.notice('action cancelled'), 'no "action cancelled" message')
  h.sleep(1500) -- past the time the answer would have come
  h.eq(original, text(bufnr), 'the buffer after <C-c>')

  -- 2. :CodellamaCancel; meanwhile Neovim takes input in another buffer.
  run_action('generate tests')
  h.wait_for('the action to run again', h.QUICK, running)
  vim.cmd('new')
  h.type_keys('ityped while the model works<Esc>')
  h.eq('typed while the model works', api.nvim_get_current_line(), 'typed while the action runs')
  vim.cmd('bwipeout!')
  h.truthy(running(), 'the action still runs after the typing')
  vim.cmd('CodellamaCancel')
  h.wait_for('the action to end after :CodellamaCancel', h.QUICK, function()
    return not running()
  end)
  h.sleep(1500)
  h.eq(original, text(bufnr), 'the buffer after :CodellamaCancel')

  -- 3. With no action running, <C-c> is itself, and an action left alone lands.
  api.nvim_feedkeys(vim.keycode('<C-c>'), 'mt', false)
  h.sleep(200)
  h.truthy(h.notice('no action is running') == nil, '<C-c> alone said something')
  run_action('generate tests')
  h.wait_for('the tests', h.SLOW, function()
    return text(bufnr):find('def test_area', 1, true)
  end)
end)
