-- Code actions through Neovim's own vim.lsp.buf.code_action(), against the scripted
-- Code Llama - Instruct look-alike: the doc comment and an edit by instruction (the
-- instruction typed into vim.ui.input) land in the buffer; explain shows its answer.
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

local function text()
  return table.concat(api.nvim_buf_get_lines(0, 0, -1, true), '\n')
end

h.run(function()
  require('codellama_ls').setup({ cmd = vim.json.decode(vim.env.CODELLAMA_NVIM_SERVER), enabled = false })
  vim.cmd.edit(vim.fn.fnameescape(vim.env.CODELLAMA_NVIM_FILE))
  local bufnr = api.nvim_get_current_buf()
  local _, state = h.wait_ready(bufnr)
  h.eq('ready', state, 'model state')

  -- The cursor in the method, nothing selected: the action works on the whole method.
  api.nvim_win_set_cursor(0, { 9, 12 })
  run_action('doc comment')
  h.wait_for('the docstring', h.SLOW, function()
    return text():find('"""The area of the circle."""', 1, true)
  end)
  h.log('after the docstring:\n%s', text())

  local asked
  vim.ui.input = function(opts, on_confirm)
    asked = opts.prompt
    on_confirm('multiply instead of using **')
  end
  api.nvim_win_set_cursor(0, { 10, 12 })
  run_action('instruction')
  h.wait_for('the edit by instruction', h.SLOW, function()
    return text():find('self.r * self.r', 1, true)
  end)
  h.truthy(asked and asked:find('Code Llama'), 'vim.ui.input was not asked')
  h.log('after the edit:\n%s', text())

  api.nvim_win_set_cursor(0, { 9, 12 })
  run_action('explain')
  -- window/showMessage: Neovim echoes it into :messages.
  h.wait_for('the explanation', h.SLOW, function()
    return vim.fn.execute('messages'):find('This method returns the area', 1, true)
  end)
  vim.cmd('write')
end)
