--- Lathe for Neovim: attaches the `lathe lsp` language server to every buffer and adds
--- commands for the things LSP has no key for (send a chat, cancel, undo, skills).
---
--- Neovim 0.11+: vim.lsp.config / vim.lsp.enable. Older versions: vim.lsp.start from a
--- FileType autocommand. Everything else is standard LSP: code actions (`gra`), progress,
--- approvals (`window/showMessageRequest`), applied edits (undo with `u`).
---
--- require('lathe').setup({
---   cmd = { 'lathe', 'lsp' },                -- or { 'lathe', 'lsp', '--in-process' }
---   init_options = { approval = 'ask' },     -- model, approval, sandbox, chatFile
---   root_markers = { '.lathe', '.git' },
--- })
local M = {}

M.defaults = {
  cmd = { 'lathe', 'lsp' },
  init_options = vim.empty_dict(),
  root_markers = { '.lathe', '.git' },
  --- Turn on LSP completion (slash commands) in chat documents.
  chat_completion = true,
}

local options = vim.deepcopy(M.defaults)

local function client(bufnr)
  return vim.lsp.get_clients({ name = 'lathe', bufnr = bufnr or 0 })[1]
    or vim.lsp.get_clients({ name = 'lathe' })[1]
end

--- Runs a Lathe command (`lathe.chat.send`, …) with one argument object.
function M.command(name, argument, on_result)
  local c = client()
  if not c then
    vim.notify('Lathe is not attached', vim.log.levels.WARN)
    return
  end
  c:request('workspace/executeCommand', { command = name, arguments = { argument or vim.empty_dict() } },
    function(err, result)
      if err then
        vim.notify('Lathe: ' .. err.message, vim.log.levels.ERROR)
      elseif on_result then
        on_result(result)
      end
    end, 0)
end

local function chat_uri()
  local name = vim.api.nvim_buf_get_name(0)
  if name:match('%.lathe%.md$') then
    return vim.uri_from_bufnr(0)
  end
end

local function user_commands()
  local cmd = vim.api.nvim_create_user_command
  cmd('LatheSend', function()
    M.command('lathe.chat.send', { uri = chat_uri() })
  end, { desc = 'Lathe: send the last message of the chat document' })
  cmd('LatheCancel', function()
    M.command('lathe.run.cancel')
  end, { desc = "Lathe: cancel this editor's runs" })
  cmd('LatheUndo', function()
    M.command('lathe.undo')
  end, { desc = 'Lathe: restore the last checkpoint' })
  cmd('LatheNewSession', function()
    M.command('lathe.session.new', { uri = chat_uri() })
  end, { desc = 'Lathe: start a new session for the chat document' })
  cmd('LatheDashboard', function()
    M.command('lathe.dashboard.open', nil, function(result)
      if result and result.url then
        vim.notify('Lathe dashboard: ' .. result.url)
      end
    end)
  end, { desc = 'Lathe: open the dashboard' })
  cmd('LatheSkill', function(args)
    local skill, input = args.args:match('^(%S+)%s*(.*)$')
    local range = vim.lsp.util.make_range_params(0, 'utf-16').range
    local c = client()
    if c then
      range = vim.lsp.util.make_range_params(0, c.offset_encoding).range
    end
    M.command('lathe.skill.run', { skill = skill, input = input, uri = vim.uri_from_bufnr(0), range = range })
  end, { nargs = '+', desc = 'Lathe: run a skill on the cursor or selection' })
  cmd('LatheChat', function()
    local root = vim.fs.root(0, options.root_markers) or vim.fn.getcwd()
    local file = options.init_options.chatFile or '.lathe/chat.lathe.md'
    vim.fn.mkdir(vim.fs.dirname(root .. '/' .. file), 'p')
    vim.cmd.edit(vim.fn.fnameescape(root .. '/' .. file))
  end, { desc = 'Lathe: open the chat document' })
end

local function on_attach(c, bufnr)
  if options.chat_completion and vim.api.nvim_buf_get_name(bufnr):match('%.lathe%.md$')
    and vim.lsp.completion then
    vim.lsp.completion.enable(true, c.id, bufnr, { autotrigger = true })
  end
end

function M.setup(opts)
  options = vim.tbl_deep_extend('force', vim.deepcopy(M.defaults), opts or {})
  vim.filetype.add({ pattern = { ['.*%.lathe%.md'] = 'markdown' } })
  local config = {
    cmd = options.cmd,
    root_markers = options.root_markers,
    init_options = options.init_options,
    on_attach = on_attach,
  }
  if vim.lsp.config then
    vim.lsp.config('lathe', config)
    vim.lsp.enable('lathe')
  else
    vim.api.nvim_create_autocmd('FileType', {
      group = vim.api.nvim_create_augroup('lathe', { clear = true }),
      callback = function(event)
        if vim.bo[event.buf].buftype ~= '' then
          return
        end
        local marker = vim.fs.find(options.root_markers, {
          upward = true, path = vim.fs.dirname(vim.api.nvim_buf_get_name(event.buf)),
        })[1]
        vim.lsp.start(vim.tbl_extend('force', config, {
          name = 'lathe',
          root_dir = marker and vim.fs.dirname(marker) or vim.fn.getcwd(),
        }), { bufnr = event.buf })
      end,
    })
  end
  user_commands()
end

return M
