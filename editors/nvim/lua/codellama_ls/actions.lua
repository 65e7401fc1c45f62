-- Code actions (explain, doc comment, tests, edit by instruction) come from the server and
-- run through `vim.lsp.buf.code_action()`. Edit by instruction needs the instruction first:
-- its action carries the client-side command below, which asks with `vim.ui.input` and then
-- runs the server's `codellama.edit` with the instruction added.
local M = {}

M.PROMPT_COMMAND = 'codellama.editWithInstruction'
M.EDIT_COMMAND = 'codellama.edit'

---@param command lsp.Command
---@param ctx table { client_id, bufnr }
function M.edit_with_instruction(command, ctx)
  local client = vim.lsp.get_client_by_id(ctx.client_id)
  if not client then
    return
  end
  local args = vim.deepcopy((command.arguments or {})[1] or {})
  vim.ui.input({ prompt = 'Code Llama, change this code: ' }, function(instruction)
    if not instruction or vim.trim(instruction) == '' then
      return -- cancelled
    end
    args.instruction = instruction
    client:request('workspace/executeCommand', { command = M.EDIT_COMMAND, arguments = { args } }, function(err)
      if err then
        vim.notify('codellama-ls: ' .. (err.message or tostring(err)), vim.log.levels.ERROR)
      end
    end, ctx.bufnr)
  end)
end

function M.register()
  vim.lsp.commands[M.PROMPT_COMMAND] = M.edit_with_instruction
end

return M
