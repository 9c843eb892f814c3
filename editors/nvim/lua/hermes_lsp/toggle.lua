--- Turning suggestions off and on: everywhere, for one filetype, or for one buffer.
---
--- While off, no inline-completion request leaves Neovim, so the model server sees
--- none. The narrowest scope that has a say wins: a buffer switched on is on even when its
--- filetype is off. Code actions and commands are not affected: they are asked for.
local M = {}

--- nil: no say; true/false: on/off.
M.global = true
---@type table<string, boolean>
M.filetypes = {}

---@param bufnr integer
---@return boolean
function M.enabled(bufnr)
  local here = vim.b[bufnr].hermes_enabled
  if here ~= nil then
    return here
  end
  local by_type = M.filetypes[vim.bo[bufnr].filetype]
  if by_type ~= nil then
    return by_type
  end
  return M.global
end

--- Set (`on` true/false) or flip (`on` nil) suggestions for `scope`: "global", "filetype"
--- or "buffer". Returns the new state and a sentence saying what changed.
---@param scope "global"|"filetype"|"buffer"
---@param bufnr integer
---@param on boolean|nil
---@return boolean, string
function M.set(scope, bufnr, on)
  if on == nil then
    local current = M.global
    if scope == "buffer" then
      current = M.enabled(bufnr)
    elseif scope == "filetype" then
      local by_type = M.filetypes[vim.bo[bufnr].filetype]
      current = by_type == nil and M.global or by_type
    end
    on = not current
  end
  local where
  if scope == "buffer" then
    vim.b[bufnr].hermes_enabled = on
    where = "in this buffer"
  elseif scope == "filetype" then
    local filetype = vim.bo[bufnr].filetype
    M.filetypes[filetype] = on
    where = ("for %s files"):format(filetype ~= "" and filetype or "untyped")
  else
    M.global = on
    M.filetypes = {}
    where = "everywhere (per-filetype choices cleared)"
  end
  if not on then
    require("hermes_lsp.ghost").clear(bufnr)
  end
  local util = require("hermes_lsp.util")
  if util.paths().native_ghost then -- 0.12+: the built-in ghost text asks, so tell it
    for _, buf in ipairs(vim.api.nvim_list_bufs()) do
      if util.client(buf) then
        vim.lsp.inline_completion.enable(M.enabled(buf), { bufnr = buf })
      end
    end
  end
  vim.api.nvim_exec_autocmds("User", { pattern = "HermesStatus", modeline = false })
  return on, ("suggestions %s %s"):format(on and "on" or "off", where)
end

return M
