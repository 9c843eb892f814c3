--- Small functions that hide the differences between Neovim 0.10, 0.11 and 0.12.
local M = {}

--- Which version-specific path this Neovim takes. The only place that asks; each path
--- is chosen by the feature it needs, not by a version number where that is possible.
---@return { method_calls: boolean, lsp_enable: boolean, native_ghost: boolean }
function M.paths()
  return {
    -- 0.11+: client:request(...) and vim.str_byteindex(line, encoding, index, strict).
    method_calls = vim.fn.has("nvim-0.11") == 1,
    -- 0.11+: vim.lsp.config + vim.lsp.enable; 0.10: vim.lsp.start from a FileType autocommand.
    lsp_enable = vim.lsp.config ~= nil and vim.lsp.enable ~= nil,
    -- 0.12+: vim.lsp.inline_completion draws ghost text; before it, this plugin's extmarks.
    native_ghost = vim.lsp.inline_completion ~= nil and vim.lsp.inline_completion.enable ~= nil,
  }
end

M.NAME = "hermes_lsp"

---@param bufnr integer|nil
---@return vim.lsp.Client|nil
function M.client(bufnr)
  local get = vim.lsp.get_clients
  local clients = get({ name = M.NAME, bufnr = bufnr })
  return clients[1]
end

--- client:request on 0.11+, client.request on 0.10 (methods became `:` calls in 0.11).
---@return boolean ok, integer|nil request_id
function M.request(client, method, params, handler, bufnr)
  if M.paths().method_calls then
    return client:request(method, params, handler, bufnr)
  end
  return client.request(method, params, handler, bufnr)
end

--- Pass every request of `client` through `transform(method, params, bufnr) -> params`
--- (0.11+ call it as a method, 0.10 as a plain function field).
function M.wrap_request(client, transform)
  local original = client.request
  if M.paths().method_calls then
    client.request = function(self, method, params, handler, bufnr, ...)
      return original(self, method, transform(method, params, bufnr), handler, bufnr, ...)
    end
  else
    client.request = function(method, params, handler, bufnr, ...)
      return original(method, transform(method, params, bufnr), handler, bufnr, ...)
    end
  end
end

function M.cancel(client, id)
  if M.paths().method_calls then
    client:cancel_request(id)
  else
    client.cancel_request(id)
  end
end

--- Byte column of an LSP `character` in `line`, for the client's position encoding.
---@param line string
---@param character integer
---@param encoding string
function M.byte_col(line, character, encoding)
  if encoding == "utf-8" then
    return math.min(character, #line)
  end
  local ok, col
  if M.paths().method_calls then
    ok, col = pcall(vim.str_byteindex, line, encoding, character, false)
  else
    ok, col = pcall(vim.str_byteindex, line, character, encoding == "utf-16")
  end
  return ok and col or #line
end

--- LSP `character` of a byte column in `line`.
function M.lsp_col(line, byte, encoding)
  if encoding == "utf-8" then
    return byte
  end
  local prefix = line:sub(1, byte)
  if M.paths().method_calls then
    return vim.str_utfindex(prefix, encoding)
  end
  local utf32, utf16 = vim.str_utfindex(prefix)
  return encoding == "utf-16" and utf16 or utf32
end

--- An LSP range from 1-based inclusive line numbers and byte columns (end column exclusive).
function M.make_range(bufnr, start_row, start_col, end_row, end_col, encoding)
  local function line(row)
    return vim.api.nvim_buf_get_lines(bufnr, row - 1, row, false)[1] or ""
  end
  return {
    start = { line = start_row - 1, character = M.lsp_col(line(start_row), start_col, encoding) },
    ["end"] = { line = end_row - 1, character = M.lsp_col(line(end_row), end_col, encoding) },
  }
end

function M.notify(message, level)
  vim.notify("hermes-lsp: " .. message, level or vim.log.levels.INFO)
end

return M
