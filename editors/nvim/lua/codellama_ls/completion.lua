-- The textDocument/completion fallback (<C-x><C-o>, completion plugins): the server sends
-- its suggestion as a snippet, which Neovim 0.11 expands on accept only in buffers where
-- vim.lsp.completion is enabled.  Elsewhere this expands it, the way vim.lsp.completion
-- does: the word the menu inserted goes, the snippet goes in its place.  Enabling
-- vim.lsp.completion here instead would decide its options (autotrigger, convert) for the
-- user's other servers in the buffer.
local api = vim.api

local M = {}

-- Whether vim.lsp.completion handles CompleteDone in `bufnr` (its augroup is named so).
local function handled_by_neovim(bufnr)
  local ok, autocmds =
    pcall(api.nvim_get_autocmds, { group = ('nvim.lsp.completion_%d'):format(bufnr), event = 'CompleteDone' })
  return ok and #autocmds > 0
end

--- On CompleteDone in `bufnr`: expand an accepted snippet item of `client_id`.
function M.on_complete_done(bufnr, client_id)
  local reason = vim.v.event.reason
  -- 'discard': with one item and no menu (the default completeopt=menu,popup), the item went in
  -- as soon as it came and the user went on (<Esc>, typing): its first line is in the buffer,
  -- and neither <C-y> nor Neovim's own handler will expand the rest.
  if reason ~= 'discard' and (reason ~= 'accept' or handled_by_neovim(bufnr)) then
    return
  end
  local lsp = vim.tbl_get(vim.v.completed_item or {}, 'user_data', 'nvim', 'lsp') or {}
  local item = lsp.completion_item
  local client = vim.lsp.get_client_by_id(client_id)
  if lsp.client_id ~= client_id or not client or type(item) ~= 'table' then
    return
  end
  local edit = item.textEdit
  if item.insertTextFormat ~= 2 or type(edit) ~= 'table' or not edit.range then
    return
  end
  local row, col = unpack(api.nvim_win_get_cursor(0))
  row = row - 1
  if edit.range.start.line ~= row then
    return
  end
  -- The text before the range start is as it was when the server answered.
  local line = api.nvim_get_current_line()
  local start = vim.str_byteindex(line, client.offset_encoding, edit.range.start.character, false)
  if start > col then
    return
  end
  local word = vim.v.completed_item.word or ''
  if reason == 'discard' and (word == '' or line:sub(start + 1, col) ~= word) then
    return -- the user changed what went in: leave it
  end
  api.nvim_buf_set_text(bufnr, row, start, row, col, { '' })
  api.nvim_win_set_cursor(0, { row + 1, start })
  vim.snippet.expand(edit.newText)
end

return M
