-- Options of the Neovim side; `setup()` merges the user's over these.
local M = {}

M.defaults = {
  -- Automatic suggestions while typing (`:CodellamaToggle` flips it).  The manual
  -- trigger key still asks when this is off.
  enabled = true,
  -- Wait this long after the last keystroke before asking the server (Neovim 0.11
  -- client only; the 0.12 built-in client has its own fixed delay).
  debounce_ms = 150,
  -- Use Neovim 0.12's built-in `vim.lsp.inline_completion` when it exists; false:
  -- always our ghost-text client (the only one on 0.11).
  builtin = true,
  -- Server settings.  nil keeps what `lsp/codellama_ls.lua` says.
  cmd = nil,
  filetypes = nil,
  root_markers = nil,
  init_options = nil, -- sent as initializationOptions (camelCase keys: model, maxLines, ...)
  settings = nil, -- sent with workspace/didChangeConfiguration after start
  lsp = {}, -- any other vim.lsp.config() fields (capabilities, on_attach, ...)
  -- Call vim.lsp.enable('codellama_ls') from setup().
  enable_server = true,
  -- Insert-mode keys in buffers the server is attached to; false leaves a key unmapped.
  keymaps = {
    accept = '<Tab>', -- accept the suggestion; without one, a normal <Tab>
    accept_word = '<M-Right>', -- accept up to the end of the next word
    accept_line = '<M-Down>', -- accept up to the end of the line
    next = '<M-]>', -- cycle through the suggestions of the last answer
    prev = '<M-[>',
    dismiss = '<C-]>', -- hide it (leaving insert mode hides it too)
    trigger = '<M-\\>', -- ask now, as an explicit request (triggerKind Invoked)
  },
  -- Normal-mode key that stops a running code action (:CodellamaCancel does too); the key
  -- keeps its usual meaning when none runs.  false leaves it unmapped.
  cancel_key = '<C-c>',
  -- Shown at the end of the cursor line while a suggestion is computed (0.11 client);
  -- false hides it.  `require('codellama_ls').statusline()` says the same for a statusline.
  busy_indicator = '⋯',
  -- Show the model's loading progress and the end of it with vim.notify.
  notify_progress = true,
  hl_group = 'CodellamaGhost', -- grey italic (Comment's colours) unless your colorscheme defines it
  -- Next-edit suggestions: a change the server proposes elsewhere after an edit, drawn as a diff
  -- where it would go.  The server proposes them only with its `nextEdit` setting on.
  next_edit = {
    enabled = true, -- ask the server after each edit pause
    debounce_ms = 400, -- wait this long after the last change (insert or normal mode)
    -- Normal- and insert-mode keys, active only while an edit is shown (else the key is itself).
    keymaps = {
      jump = '<M-n>', -- move the cursor to the proposed edit
      accept = '<M-y>', -- apply it
      dismiss = '<M-d>', -- hide it (the server will not propose it again for the same text)
    },
  },
}

M.options = vim.deepcopy(M.defaults)

---@param opts table|nil
function M.set(opts)
  M.options = vim.tbl_deep_extend('force', vim.deepcopy(M.defaults), opts or {})
  return M.options
end

return M
