--- :HermesRefactor and :HermesDebug: the server's `hermes.refactor` and `hermes.debug`
--- commands. The server computes the edit and applies it with `workspace/applyEdit`,
--- which Neovim's LSP client handles, so these only gather the arguments.
local util = require("hermes_lsp.util")

local M = {}

local function execute(client, bufnr, command, args, title)
  local status = require("hermes_lsp.status")
  status.local_busy(1)
  util.notify(title .. "…")
  util.request(client, "workspace/executeCommand", { command = command, arguments = { args } }, function(err)
    status.local_busy(-1)
    if err then
      util.notify(("%s failed: %s"):format(command, err.message or vim.inspect(err)), vim.log.levels.ERROR)
    end
  end, bufnr)
end

--- :[range]HermesRefactor [instruction]  (asks for the instruction when it is not given)
function M.refactor(opts)
  local bufnr = vim.api.nvim_get_current_buf()
  local client = util.client(bufnr)
  if not client then
    util.notify("hermes-lsp is not attached to this buffer", vim.log.levels.WARN)
    return
  end
  local encoding = client.offset_encoding or "utf-16"
  local range
  if opts.range == 2 then
    local start_pos, end_pos = vim.fn.getpos("'<"), vim.fn.getpos("'>")
    local visual = start_pos[2] == opts.line1 and end_pos[2] == opts.line2 and vim.fn.visualmode() == "v"
    if visual then
      local last = vim.api.nvim_buf_get_lines(bufnr, end_pos[2] - 1, end_pos[2], false)[1] or ""
      range = util.make_range(bufnr, start_pos[2], start_pos[3] - 1, end_pos[2], math.min(end_pos[3], #last), encoding)
    else
      local last = vim.api.nvim_buf_get_lines(bufnr, opts.line2 - 1, opts.line2, false)[1] or ""
      range = util.make_range(bufnr, opts.line1, 0, opts.line2, #last, encoding)
    end
  else
    local row = vim.api.nvim_win_get_cursor(0)[1]
    local line = vim.api.nvim_get_current_line()
    range = util.make_range(bufnr, row, 0, row, #line, encoding)
  end
  local function run(instruction)
    if not instruction or vim.trim(instruction) == "" then
      return
    end
    local args = { uri = vim.uri_from_bufnr(bufnr), range = range, instruction = vim.trim(instruction) }
    execute(client, bufnr, "hermes.refactor", args, "refactoring")
  end
  if opts.args and opts.args ~= "" then
    run(opts.args)
  else
    vim.ui.input({ prompt = "Hermes: how should this code change? " }, run)
  end
end

--- :HermesDebug  debugs the stack trace on the clipboard;
--- :[range]HermesDebug  debugs the selected lines (paste a trace into any buffer, select it).
function M.debug(opts)
  local bufnr = vim.api.nvim_get_current_buf()
  local trace
  if opts.range > 0 then
    trace = table.concat(vim.api.nvim_buf_get_lines(bufnr, opts.line1 - 1, opts.line2, false), "\n")
  else
    trace = vim.fn.getreg("+")
    if trace == "" then
      trace = vim.fn.getreg('"')
    end
  end
  trace = vim.trim((trace or ""):gsub("\r\n?", "\n"))
  if trace == "" then
    util.notify("no stack trace: copy one to the clipboard, or select its lines and run :'<,'>HermesDebug")
    return
  end
  -- The trace may sit in a scratch buffer; any attached file buffer can carry the request.
  local client = util.client(bufnr) or util.client(nil)
  if not client then
    util.notify("hermes-lsp is not running", vim.log.levels.WARN)
    return
  end
  local args = { trace = trace }
  if vim.bo[bufnr].buftype == "" and vim.api.nvim_buf_get_name(bufnr) ~= "" and util.client(bufnr) then
    args.uri = vim.uri_from_bufnr(bufnr)
  end
  execute(client, bufnr, "hermes.debug", args, "debugging the stack trace")
end

return M
