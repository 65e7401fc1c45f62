-- Drives a real headless Neovim through the codellama-ls plugin, like a user typing.
-- Run by tests/editors/test_nvim.py:
--   nvim --headless --clean --cmd 'set rtp^=editors/nvim' -c 'luafile drive.lua'
-- with CODELLAMA_NVIM_* variables naming the file, the server and a log.  Keys go in
-- with nvim_input() and are handled by Neovim's main loop, so the script runs as a
-- coroutine that yields to that loop whenever it waits; vim.wait() would not let
-- typed keys through.
local api = vim.api
local env = vim.env

local LOG = assert(env.CODELLAMA_NVIM_LOG, 'CODELLAMA_NVIM_LOG not set')
local FILE = assert(env.CODELLAMA_NVIM_FILE, 'CODELLAMA_NVIM_FILE not set')
-- The server command, as a JSON list.
local SERVER = vim.json.decode((assert(env.CODELLAMA_NVIM_SERVER, 'CODELLAMA_NVIM_SERVER not set')))
local ENCODING = env.CODELLAMA_NVIM_ENCODING or 'utf-8'
-- A loaded 2-core machine can be slow to start Python and llama.cpp; fail clearly, not flakily.
local SLOW = 30000
local QUICK = 10000

local started = vim.uv.hrtime()
local function log(fmt, ...)
  local line = select('#', ...) > 0 and fmt:format(...) or fmt
  line = ('%6.2fs %s'):format((vim.uv.hrtime() - started) / 1e9, line)
  vim.fn.writefile(vim.split(line, '\n'), LOG, 'a')
end

local function now()
  return vim.uv.hrtime() / 1e6
end

-- Give control back to the main loop for `ms`, so keys and LSP messages are processed.
local function sleep(ms)
  local co = coroutine.running()
  vim.defer_fn(function()
    local ok, err = coroutine.resume(co)
    if not ok then
      log('coroutine died: %s', err)
      vim.cmd('cquit 3')
    end
  end, ms)
  coroutine.yield()
end

local function wait_for(what, timeout, fn)
  local deadline = now() + timeout
  while true do
    local value = fn()
    if value then
      return value
    end
    if now() > deadline then
      error(('timed out after %d ms waiting for %s'):format(timeout, what), 2)
    end
    sleep(20)
  end
end

local function eq(expected, actual, what)
  if not vim.deep_equal(expected, actual) then
    error(('%s: expected %s, got %s'):format(what, vim.inspect(expected), vim.inspect(actual)), 2)
  end
end

local ghost = require('codellama_ls.ghost')

local function shown()
  return ghost.shown(api.nvim_get_current_buf())
end

local function ghost_lines()
  local g = shown()
  return g and g.lines
end

local function line(n)
  return api.nvim_buf_get_lines(0, n - 1, n, true)[1]
end

local function cursor()
  return api.nvim_win_get_cursor(0)
end

-- Type keys (<> notation) and wait until Neovim has handled them: a <Cmd> queued
-- after them runs only once the keys (and what their mappings produce) are done.
local typed = 0
local function type_keys(keys)
  typed = typed + 1
  local mark = typed
  api.nvim_input(keys .. ('<Cmd>lua _G.codellama_typed = %d<CR>'):format(mark))
  wait_for('keys ' .. keys .. ' to be handled', QUICK, function()
    return _G.codellama_typed == mark
  end)
end

local function wait_ghost(what)
  local g = wait_for('ghost text ' .. what, SLOW, shown)
  log('ghost %s at %d:%d: %s', what, g.row, g.col, vim.inspect(g.lines))
  return g
end

local notices = {}
local notify = vim.notify
vim.notify = function(msg, level, opts)
  notices[#notices + 1] = msg
  if notices[#notices - 1] ~= msg then -- a failing server can repeat one message endlessly
    log('notify: %s', msg)
  end
  return notify(msg, level, opts)
end

-- Answers to textDocument/inlineCompletion received so far (LspRequest fires on each).
local answers = 0
api.nvim_create_autocmd('LspRequest', {
  callback = function(args)
    local request = args.data.request
    if request and request.method == 'textDocument/inlineCompletion' and request.type == 'complete' then
      answers = answers + 1
    end
  end,
})

local function start_and_wait_ready()
  require('codellama_ls').setup({
    cmd = SERVER,
    init_options = { maxLines = 2 },
    -- Force the encoding under test (Neovim offers utf-8 first, which the server takes).
    lsp = {
      capabilities = { general = { positionEncodings = { ENCODING } } },
      -- Hold didChange back for a second (requests still send it first) so that the
      -- server answers a request for text that has changed since: see step 4.
      flags = { debounce_text_changes = 1000 },
    },
  })
  vim.cmd.edit(vim.fn.fnameescape(FILE))
  local bufnr = api.nvim_get_current_buf()
  local client = wait_for('the client to attach', SLOW, function()
    for _, msg in ipairs(notices) do
      if msg:find('quit with exit code', 1, true) then
        error('the server exited: ' .. msg)
      end
    end
    return vim.lsp.get_clients({ bufnr = bufnr, name = 'codellama_ls' })[1]
  end)
  eq(ENCODING, client.offset_encoding, 'negotiated position encoding')

  local state
  wait_for('the model to load (codellama/status)', SLOW, function()
    require('codellama_ls').status(function(err, status)
      state = err or status.state
    end, bufnr)
    sleep(100)
    return state == 'ready' or state == 'failed'
  end)
  eq('ready', state, 'codellama/status state')
  log('model ready')
  vim.cmd('CodellamaStatus')
  wait_for(':CodellamaStatus to report', QUICK, function()
    return notices[#notices] and notices[#notices]:find('ready', 1, true)
  end)
end

-- The model (see tests/editors/test_nvim.py) says "return x" wherever it is asked, and
-- on an empty line adds "\n    return x" (maxLines 2).  Every step below leaves valid
-- Python, so the server has no reason to drop a suggestion as a syntax error.
local function main()
  start_and_wait_ready()

  -- 1. One line of ghost text after the cursor, with a multibyte character before it
  --    (so a wrong position encoding would put it in the wrong place).  <Esc> hides it.
  api.nvim_win_set_cursor(0, { 3, 0 })
  type_keys('A<Space>')
  local g = wait_ghost('after "if naïve: "')
  eq({ 2, #'    if naïve: ' }, { g.row, g.col }, 'ghost text position')
  eq({ 'return x' }, g.lines, 'ghost text')
  -- Moving the cursor without typing leaves it behind, even inside the text typed along.
  type_keys('r')
  eq({ 'eturn x' }, ghost_lines(), 'ghost text after typing "r"')
  local asked = answers
  type_keys('<Left>')
  eq(true, shown() == nil or answers > asked, 'no ghost text left after the cursor moved')
  type_keys('<Esc>')
  eq(nil, shown(), 'ghost text after <Esc>')

  type_keys('A<BS>')
  g = wait_ghost('after "if naïve: " again')
  eq({ 'return x' }, g.lines, 'ghost text')
  -- Typing what it says keeps it, minus what was typed, without asking again.
  asked = answers
  type_keys('r')
  eq({ 'eturn x' }, ghost_lines(), 'ghost text after typing along')
  sleep(3 * 150) -- three debounce delays: time enough for a request that should not be sent
  eq(asked, answers, 'answers while typing along (none expected)')
  eq({ 'eturn x' }, ghost_lines(), 'ghost text a while after typing along')
  type_keys('<M-]>') -- one item only: cycling keeps it
  eq({ 'eturn x' }, ghost_lines(), 'ghost text after <M-]>')
  -- <Tab> accepts: the item's range gets its text and the cursor goes to its end.
  type_keys('<Tab>')
  eq('    if naïve: return x', line(3), 'line 3 after <Tab>')
  eq({ 3, #line(3) }, cursor(), 'cursor after <Tab>')

  -- 2. <C-]> dismisses; with nothing shown <Tab> is an ordinary <Tab>.
  type_keys('<CR>')
  g = wait_ghost('on a new line')
  eq({ 3, 4 }, { g.row, g.col }, 'ghost text position on the new line')
  type_keys('<C-]>')
  eq(nil, shown(), 'ghost text after <C-]>')
  type_keys('<Tab>')
  eq('        ', line(4), 'line 4 after <Tab> with nothing shown (softtabstop=4)')

  -- 3. Deleting before a suggestion drops it.  A block: the first line inline, the
  --    rest as virt_lines; accept a word, then a line, then the rest.
  type_keys('<BS>')
  eq('    ', line(4), 'line 4 after <BS>')
  g = wait_ghost('block')
  eq({ 3, 4 }, { g.row, g.col }, 'block position')
  eq({ 'return x', '    return x' }, g.lines, 'block ghost text')
  type_keys('<M-Right>')
  eq('    return', line(4), 'line 4 after accepting a word')
  eq({ ' x', '    return x' }, ghost_lines(), 'ghost text after a word')
  type_keys('<M-Down>')
  eq('    return x', line(4), 'line 4 after accepting a line')
  eq({ '', '    return x' }, ghost_lines(), 'ghost text after a line')
  type_keys('<Tab>')
  eq({ '    return x', '    return x' }, api.nvim_buf_get_lines(0, 3, 5, true), 'block accepted')
  eq({ 5, 12 }, cursor(), 'cursor after accepting the block')
  type_keys('<Esc>')

  -- 4. Switched off: nothing comes by itself, but the trigger key still asks.  An
  --    answer for text that changed meanwhile is dropped.
  vim.cmd('CodellamaToggle')
  eq('codellama-ls: suggestions off', notices[#notices], ':CodellamaToggle message')
  type_keys('o')
  sleep(600)
  eq(nil, shown(), 'ghost text while switched off')
  asked = answers
  -- Ask, then change the text before the answer can arrive, leaving the cursor where
  -- it was: only the changedtick tells that the answer is stale.
  local before = cursor()
  type_keys('<M-\\>#<Left>')
  eq(before, cursor(), 'cursor after typing "#<Left>"')
  wait_for('the answer to the stale request', SLOW, function()
    return answers > asked
  end)
  sleep(100)
  eq(nil, shown(), 'ghost text from an answer for older text')
  type_keys('<Del>if z: ')
  type_keys('<M-\\>')
  g = wait_ghost('after the trigger key')
  eq({ 'return x' }, g.lines, 'ghost text after the trigger key')
  type_keys('<Tab><Esc>')
  vim.cmd('CodellamaToggle')
  eq('codellama-ls: suggestions on', notices[#notices], ':CodellamaToggle message')

  vim.cmd.write()
  log('wrote %s', FILE)
end

-- Fail rather than hang if something never returns.
vim.defer_fn(function()
  log('FAIL: the script did not finish in 80 s\nmessages:\n%s', vim.fn.execute('messages'))
  vim.cmd('cquit 2')
end, 80000)

vim.schedule(function()
  local co = coroutine.create(function()
    local ok, err = xpcall(main, debug.traceback)
    if ok then
      log('PASS')
      vim.cmd('qall!')
    else
      log('FAIL: %s', err)
      log('messages:\n%s', vim.fn.execute('messages'))
      vim.cmd('cquit 1')
    end
  end)
  local ok, err = coroutine.resume(co)
  if not ok then
    log('coroutine died: %s', err)
    vim.cmd('cquit 3')
  end
end)
