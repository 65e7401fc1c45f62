-- Repository context as a user meets it: a workspace of two files, only main.py open; the user
-- writes a call to a function that the other file defines, and the ghost text carries its
-- arguments.  The scripted model (SCRIPTED_CALLS=1) knows only what the prompt shows, so the
-- arguments come from the workspace index.  CODELLAMA_NVIM_CASE (JSON): { enabled (the server's
-- repositoryContext), typed (keys typed at the end of the last line), ghost (the ghost text
-- expected), line (the line once accepted) }.
local h = dofile(vim.env.CODELLAMA_NVIM_HARNESS)
local api = vim.api

local CASE = vim.json.decode(vim.env.CODELLAMA_NVIM_CASE)

h.run(function()
  require('codellama_ls').setup({ cmd = vim.json.decode(vim.env.CODELLAMA_NVIM_SERVER) })
  vim.cmd.edit(vim.fn.fnameescape(vim.env.CODELLAMA_NVIM_FILE))
  local bufnr = api.nvim_get_current_buf()
  local client, state = h.wait_ready(bufnr)
  h.eq('ready', state, 'model state')
  h.eq(1, vim.tbl_count(client.attached_buffers), 'buffers open in the server')
  h.log('workspace folders: %s', vim.inspect(client.workspace_folders))

  -- The index is built in the background: wait until it holds the workspace's files (none when off).
  local repository
  h.wait_for('the workspace index', h.SLOW, function()
    require('codellama_ls').status(function(err, status)
      repository = not err and status.repository or nil
    end, bufnr)
    h.sleep(100)
    return repository and (repository.files >= 3 or not CASE.enabled)
  end)
  h.log('index: %s', vim.inspect(repository))
  h.eq(CASE.enabled, repository.enabled, 'repository context on')

  -- Type the call at the end of the file, as a user would; the suggestion comes by itself.
  local last = api.nvim_buf_line_count(bufnr)
  api.nvim_win_set_cursor(0, { last, #api.nvim_buf_get_lines(bufnr, last - 1, last, true)[1] })
  h.type_keys('A' .. CASE.typed)
  local ghost = require('codellama_ls.ghost')
  local shown = h.wait_for('the suggestion', h.SLOW, function()
    return ghost.shown(bufnr)
  end)
  h.log('ghost: %s', vim.inspect(shown))
  h.eq({ CASE.ghost }, shown.lines, 'the ghost text')
  h.type_keys('<Tab>')
  h.type_keys('<Esc>')
  h.eq(CASE.line, api.nvim_buf_get_lines(bufnr, last - 1, last, true)[1], 'the line once accepted')
  vim.cmd.write()
end)
