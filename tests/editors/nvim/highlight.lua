-- The ghost-text highlight without 'termguicolors': visibly not plain text in 256- and
-- 16-colour terminals, and a colorscheme's own CodellamaGhost wins over ours.
local h = dofile(vim.env.CODELLAMA_NVIM_HARNESS)
local api = vim.api

local function hl(name)
  return api.nvim_get_hl(0, { name = name, link = false })
end

h.run(function()
  vim.o.termguicolors = false
  local ghost, normal = hl('CodellamaGhost'), hl('Normal')
  h.log('CodellamaGhost %s, Normal %s', vim.inspect(ghost), vim.inspect(normal))
  h.truthy(ghost.ctermfg, 'CodellamaGhost has no terminal colour: it looks like code without termguicolors')
  h.truthy(ghost.ctermfg < 16, 'CodellamaGhost colour exists only in 256-colour terminals')
  h.truthy(ghost.ctermfg ~= normal.ctermfg, 'CodellamaGhost has the colour of Normal')
  h.truthy(ghost.italic or (ghost.cterm and ghost.cterm.italic), 'CodellamaGhost is not italic')

  -- A colorscheme that defines the group keeps its definition.
  local dir = vim.fn.getcwd() .. '/theme'
  vim.fn.mkdir(dir .. '/colors', 'p')
  local theme = { 'hi clear', "let g:colors_name = 'mine'", 'hi CodellamaGhost ctermfg=5 guifg=#ff00ff' }
  vim.fn.writefile(theme, dir .. '/colors/mine.vim')
  vim.opt.runtimepath:append(dir)
  vim.cmd.colorscheme('mine')
  h.eq(5, hl('CodellamaGhost').ctermfg, 'ctermfg after a colorscheme that defines CodellamaGhost')
  -- One that does not: ours again (`hi clear` removed it).
  vim.cmd.colorscheme('default')
  h.truthy(hl('CodellamaGhost').ctermfg, 'CodellamaGhost after :colorscheme default')
  h.eq('CodellamaGhost', require('codellama_ls.config').options.hl_group, 'hl_group')
end)
