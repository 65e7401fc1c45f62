-- The real server with a model that cannot load: the failure is shown as a message,
-- and :checkhealth codellama_ls names the binary, its version, the failure and the
-- position encoding.
local h = dofile(vim.env.CODELLAMA_NVIM_HARNESS)
local api = vim.api

h.run(function()
  require('codellama_ls').setup({})
  vim.cmd.edit(vim.fn.fnameescape(vim.env.CODELLAMA_NVIM_FILE))
  local bufnr = api.nvim_get_current_buf()
  local _, state = h.wait_ready(bufnr)
  h.eq('failed', state, 'model state')
  local failure = h.wait_for('the failure as a message', h.QUICK, function()
    return h.notice('Model file not found')
  end)
  h.eq(vim.log.levels.ERROR, failure.level, 'level of the failure message')
  h.wait_for('the end of loading as a message', h.QUICK, function()
    return h.notice('codellama-ls: Model not loaded')
  end)

  -- The trigger key asks anyway: nothing comes, and it says why.
  h.type_keys('o')
  h.type_keys('<M-\\>')
  local why = h.wait_for('why the trigger key brought nothing', h.QUICK, function()
    return h.notice('no suggestion: the model failed to load')
  end)
  h.truthy(why.msg:find('Model file not found', 1, true), 'the reason names the failure: ' .. why.msg)
  h.type_keys('<Esc>')

  vim.cmd('checkhealth codellama_ls')
  local report = table.concat(api.nvim_buf_get_lines(0, 0, -1, true), '\n')
  h.log('checkhealth:\n%s', report)
  for _, expected in ipairs({
    'server binary: ' .. vim.fn.exepath('codellama-ls'),
    'version: codellama-ls ',
    'model failed to load',
    'no-such-model.gguf',
    'position encoding utf-',
  }) do
    h.truthy(report:find(expected, 1, true), ('checkhealth says nothing of %q'):format(expected))
  end
  h.truthy(not report:find('ERROR No healthcheck found', 1, true), 'no healthcheck found')
end)
