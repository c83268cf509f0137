-- Headless Neovim 0.11 answering an MCP server's question: the project's plugin attaches
-- `lathe lsp` to a chat document whose run calls a tool of the workspace's MCP server; the
-- server asks a yes/no form, which reaches Neovim as `window/showMessageRequest` (shown by
-- vim.ui.select). Every prompt picks its first item (Allow once, then Yes). Results are
-- written as JSON to $LATHE_TEST_OUT; every wait has a deadline.
local out = assert(os.getenv('LATHE_TEST_OUT'))
local workspace = assert(os.getenv('LATHE_TEST_WORKSPACE'))
local results = { prompts = {} }

vim.ui.select = function(items, opts, on_choice)
  table.insert(results.prompts, { prompt = opts.prompt, items = vim.tbl_map(function(i)
    return type(i) == 'table' and i.title or i
  end, items) })
  on_choice(items[1], 1)
end

local ok, err = pcall(function()
  vim.opt.rtp:prepend(assert(os.getenv('LATHE_PLUGIN')))
  vim.cmd('filetype on')
  require('lathe').setup({ cmd = vim.json.decode(assert(os.getenv('LATHE_HOST_CMD'))) })
  vim.cmd.edit(workspace .. '/.lathe/chat.lathe.md')
  assert(vim.wait(10000, function()
    return #vim.lsp.get_clients({ name = 'lathe', bufnr = 0 }) > 0
  end, 20), 'timed out attaching')
  vim.cmd('LatheSend')
  assert(vim.wait(60000, function()
    local text = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\n')
    return text:match('Confirmed%.\n\n## You\n$') ~= nil
  end, 20), 'timed out waiting for the chat answer')
end)
results.ok = ok
results.error = ok and vim.NIL or tostring(err)
results.chat = vim.api.nvim_buf_get_lines(0, 0, -1, false)
local file = assert(io.open(out, 'w'))
file:write(vim.json.encode(results))
file:close()
vim.cmd('qa!')
