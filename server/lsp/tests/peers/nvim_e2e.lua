-- Headless Neovim 0.11 end to end: the project's plugin (editors/nvim) attaches the server,
-- lists code actions, runs "Lathe: Document" (answering the approval prompt) until the
-- buffer changes, and sends a chat document whose answer streams in. Results are written
-- as JSON to $LATHE_TEST_OUT for the caller to check; every wait has a deadline.
--
-- The server command is $LATHE_HOST_CMD (a JSON list): test_neovim.py runs it against the
-- in-process `lsp_host` example, lathe-tests' e2e suite (tests/tests/e2e/editor_neovim.rs)
-- against the product's `lathe lsp` shim and its autostarted daemon.
local out = assert(os.getenv('LATHE_TEST_OUT'))
local workspace = assert(os.getenv('LATHE_TEST_WORKSPACE'))
local results = { prompts = {}, steps = {} }

local function save()
  local file = assert(io.open(out, 'w'))
  file:write(vim.json.encode(results))
  file:close()
end

local function wait(what, ms, check)
  if not vim.wait(ms, check, 20) then
    error('timed out waiting for ' .. what)
  end
  table.insert(results.steps, what)
end

-- The approval prompt: Neovim 0.11 asks through vim.ui.select (older: inputlist).
vim.ui.select = function(items, opts, on_choice)
  table.insert(results.prompts, { prompt = opts.prompt, items = vim.tbl_map(function(i)
    return type(i) == 'table' and i.title or i
  end, items) })
  on_choice(items[1], 1)
end
vim.fn.inputlist = function(lines)
  table.insert(results.prompts, { prompt = lines[1], items = lines })
  return 1
end

local ok, err = pcall(function()
  vim.opt.rtp:prepend(assert(os.getenv('LATHE_PLUGIN')))
  vim.cmd('filetype on')
  require('lathe').setup({ cmd = vim.json.decode(assert(os.getenv('LATHE_HOST_CMD'))) })

  vim.cmd.edit(workspace .. '/src/lib.rs')
  wait('attach', 10000, function()
    return #vim.lsp.get_clients({ name = 'lathe', bufnr = 0 }) > 0
  end)
  local client = vim.lsp.get_clients({ name = 'lathe', bufnr = 0 })[1]
  results.encoding = client.offset_encoding
  vim.api.nvim_win_set_cursor(0, { 2, 4 })
  local params = vim.lsp.util.make_range_params(0, client.offset_encoding)
  params.context = { diagnostics = {} }
  local answers = assert(vim.lsp.buf_request_sync(0, 'textDocument/codeAction', params, 5000))
  local actions = answers[client.id].result
  results.titles = vim.tbl_map(function(a) return a.title end, actions)
  local document
  for _, action in ipairs(actions) do
    if action.title == 'Lathe: Document' then
      document = action
    end
  end
  -- Each run reports work-done progress; its `end` comes after the run's last model call.
  local runs_ended = 0
  vim.api.nvim_create_autocmd('LspProgress', {
    callback = function(event)
      local value = event.data.params.value
      if type(value) == 'table' and value.kind == 'end' then
        runs_ended = runs_ended + 1
      end
    end,
  })
  client:exec_cmd(document.command, { bufnr = 0 })
  wait('the documented buffer', 20000, function()
    return vim.api.nvim_buf_get_lines(0, 0, 1, false)[1] == '/// Adds `a` and `b`.'
  end)
  -- The scripted model plays one conversation: chat only once the Document run is over.
  wait('the end of the Document run', 20000, function()
    return runs_ended >= 1
  end)
  results.document = vim.api.nvim_buf_get_lines(0, 0, -1, false)
  results.modified = vim.bo.modified

  vim.cmd.edit(workspace .. '/.lathe/chat.lathe.md')
  wait('attach to the chat', 10000, function()
    return #vim.lsp.get_clients({ name = 'lathe', bufnr = 0 }) > 0
  end)
  vim.cmd('LatheSend')
  wait('the chat answer', 20000, function()
    local text = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\n')
    return text:match('Four%.\n\n## You\n$') ~= nil
  end)
  results.chat = vim.api.nvim_buf_get_lines(0, 0, -1, false)
end)
results.ok = ok
results.error = ok and vim.NIL or tostring(err)
results.last_buffer = vim.api.nvim_buf_get_lines(0, 0, -1, false)
results.clients = vim.tbl_map(function(c)
  return { id = c.id, root = c.root_dir or vim.NIL }
end, vim.lsp.get_clients({ name = 'lathe' }))
save()
vim.cmd('qa!')
