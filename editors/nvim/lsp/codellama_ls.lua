-- Server config for Neovim 0.11+: picked up by `vim.lsp.enable('codellama_ls')`
-- from any 'runtimepath' entry, and extended by `vim.lsp.config('codellama_ls', {...})`
-- (or `require('codellama_ls').setup({...})`).
---@type vim.lsp.Config
return {
  cmd = { 'codellama-ls' },
  -- Neovim's filetype names for the languages the server knows (its languageIds).
  filetypes = {
    'python',
    'javascript',
    'javascriptreact',
    'typescript',
    'typescriptreact',
    'go',
    'rust',
    'c',
    'cpp',
    'java',
    'lua',
    'sh',
    'bash',
    'zsh',
    'ruby',
    'php',
    'cs',
  },
  -- Only used to pick a workspace folder; the server also works without one.
  root_markers = {
    '.git',
    'pyproject.toml',
    'setup.py',
    'package.json',
    'go.mod',
    'Cargo.toml',
    'pom.xml',
    'build.gradle',
    'CMakeLists.txt',
    'Makefile',
    'Gemfile',
    'composer.json',
  },
  -- Passed through as initializationOptions: camelCase server settings, e.g.
  -- { model = '~/models/codellama-7b.Q4_K_M.gguf', maxLines = 4, nGpuLayers = 0 }.
  init_options = {},
}
