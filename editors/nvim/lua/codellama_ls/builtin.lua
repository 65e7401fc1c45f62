-- Neovim 0.12+: drive the built-in `vim.lsp.inline_completion` instead of our ghost
-- text, behind the same interface as ghost.lua.  The built-in has no partial accept
-- and no public way to send an explicit (Invoked) request, so accept_word,
-- accept_line and trigger are not mapped in this mode.
local config = require('codellama_ls.config')

local M = {}

M.unsupported = { accept_word = true, accept_line = true, trigger = true }

local function ic()
  return vim.lsp.inline_completion
end

-- Whether this Neovim has the 0.12 API (enable/get/select), not an older nightly's.
function M.available()
  local api = vim.lsp.inline_completion
  return api ~= nil and type(api.enable) == 'function' and type(api.select) == 'function'
end

local function our_clients()
  return vim.lsp.get_clients({ name = 'codellama_ls' })
end

-- Enabled per client, not per buffer, so other inline-completion servers keep their setting.
function M.attach(client, _)
  ic().enable(config.options.enabled, { client_id = client.id })
end

function M.detach(_) end

function M.set_enabled(enabled)
  for _, client in ipairs(our_clients()) do
    ic().enable(enabled, { client_id = client.id })
  end
end

-- No public "hide" exists; switching the capability off and on drops the shown item.
local function dismiss()
  for _, client in ipairs(our_clients()) do
    pcall(ic().enable, false, { client_id = client.id })
    pcall(ic().enable, config.options.enabled, { client_id = client.id })
  end
end

--- Run an action outside <expr> (user mappings, tests).
function M.run(action, bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  if action == 'accept' then
    return ic().get({ bufnr = bufnr })
  elseif action == 'next' or action == 'prev' then
    ic().select({ bufnr = bufnr, count = action == 'next' and 1 or -1 })
    return true
  elseif action == 'dismiss' then
    dismiss()
    return true
  end
  return false
end

--- What an <expr> mapping of `lhs` types.  get() is made for <expr> mappings (it
--- applies the item later) and says whether there was one; otherwise `lhs` itself.
function M.keys(action, bufnr, lhs)
  if action == 'accept' then
    return ic().get({ bufnr = bufnr }) and '' or lhs
  elseif action == 'next' or action == 'prev' then
    return ('<Cmd>lua require("codellama_ls.builtin").run(%q, %d)<CR>'):format(action, bufnr)
  elseif action == 'dismiss' then
    vim.schedule(dismiss)
  end
  return lhs
end

return M
