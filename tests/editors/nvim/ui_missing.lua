-- A `codellama-ls` that is not installed: opening a Python file says so, once.
local h = dofile(vim.env.CODELLAMA_NVIM_HARNESS)

h.run(function()
  require('codellama_ls').setup({ cmd = { vim.env.CODELLAMA_NVIM_MISSING } })
  vim.cmd.edit(vim.fn.fnameescape(vim.env.CODELLAMA_NVIM_FILE))
  local notice = h.wait_for('a message about the missing server', h.QUICK, function()
    return h.notice('was not found')
  end)
  h.eq(vim.log.levels.ERROR, notice.level, 'level of the message')
  h.truthy(notice.msg:find(vim.env.CODELLAMA_NVIM_MISSING, 1, true), 'the message names the command')
  vim.cmd.edit('other.py')
  h.sleep(200)
  local count = 0
  for _, n in ipairs(h.notices) do
    count = count + (n.msg:find('was not found', 1, true) and 1 or 0)
  end
  h.eq(1, count, 'messages about the missing server after a second file')
  vim.cmd('checkhealth codellama_ls')
  local report = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, true), '\n')
  h.truthy(report:find('not found or not executable', 1, true), 'checkhealth on the missing server:\n' .. report)
end)
