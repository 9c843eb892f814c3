--- Every diagnostic at a range, from any source, for the code-action context.
---
--- Neovim puts only the asking client's own diagnostics in `context.diagnostics`, so a
--- problem reported by ruff's language server, a linter plugin or `vim.diagnostic.set`
--- would never get a "Hermes: fix". This module gathers the diagnostics of every
--- namespace that touch the requested lines, in the server's position encoding, and
--- `wrap_code_action` makes this client send them with each `textDocument/codeAction`
--- (the standard `gra` / vim.lsp.buf.code_action menu and this plugin's commands alike).
local util = require("hermes_lsp.util")

local M = {}

local SEVERITY = {
  [vim.diagnostic.severity.ERROR] = 1,
  [vim.diagnostic.severity.WARN] = 2,
  [vim.diagnostic.severity.INFO] = 3,
  [vim.diagnostic.severity.HINT] = 4,
}

--- One vim.Diagnostic as an LSP Diagnostic, its range in `encoding` units.
---@param bufnr integer
---@param d vim.Diagnostic
---@param encoding string
function M.to_lsp(bufnr, d, encoding)
  local function line(row)
    return vim.api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ""
  end
  local end_lnum = d.end_lnum or d.lnum
  local end_col = d.end_col or d.col
  local original = d.user_data and d.user_data.lsp or {}
  return {
    range = {
      start = { line = d.lnum, character = util.lsp_col(line(d.lnum), d.col, encoding) },
      ["end"] = { line = end_lnum, character = util.lsp_col(line(end_lnum), end_col, encoding) },
    },
    severity = SEVERITY[d.severity] or 1,
    message = d.message,
    source = d.source or original.source,
    code = d.code or original.code,
  }
end

--- LSP diagnostics of every namespace whose lines meet `range` (0-based LSP lines).
---@param bufnr integer
---@param range { start: { line: integer }, ["end"]: { line: integer } }
---@param encoding string
---@return table[]
function M.at(bufnr, range, encoding)
  local first, last = range.start.line, range["end"].line
  local found = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    if d.lnum <= last and (d.end_lnum or d.lnum) >= first then
      found[#found + 1] = M.to_lsp(bufnr, d, encoding)
    end
  end
  table.sort(found, function(a, b)
    return a.range.start.line < b.range.start.line
  end)
  return found
end

--- `given` plus those of `extra` that are not already among them (same line and message).
function M.merge(given, extra)
  local seen, merged = {}, {}
  for _, list in ipairs({ given or {}, extra }) do
    for _, d in ipairs(list) do
      local key = ("%d:%s"):format(d.range and d.range.start.line or -1, d.message or "")
      if not seen[key] then
        seen[key] = true
        merged[#merged + 1] = d
      end
    end
  end
  return merged
end

--- Make `client` add every diagnostic at the range to its code-action requests.
---@param client vim.lsp.Client
function M.wrap_code_action(client)
  if client._hermes_all_diagnostics then
    return
  end
  client._hermes_all_diagnostics = true
  util.wrap_request(client, function(method, params, bufnr)
    if method ~= "textDocument/codeAction" or type(params) ~= "table" or not params.range then
      return params
    end
    bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
    local context = vim.deepcopy(params.context or {})
    local encoding = client.offset_encoding or "utf-16"
    context.diagnostics = M.merge(context.diagnostics, M.at(bufnr, params.range, encoding))
    return vim.tbl_extend("force", params, { context = context })
  end)
end

return M
