-- Loaded at startup from 'runtimepath': hook LspAttach and define the commands, so
-- that `vim.lsp.enable('codellama_ls')` works without calling setup().  Cheap: the
-- rest of the plugin loads on first use.
if vim.g.loaded_codellama_ls or vim.fn.has('nvim-0.11') == 0 then
  return
end
vim.g.loaded_codellama_ls = true
require('codellama_ls').register()
