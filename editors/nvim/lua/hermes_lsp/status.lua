--- The server's state from its `hermes/status` notifications, for statuslines.
local M = {}

M.state = "starting"
M.message = ""
local running = 0

local ICONS = {
  starting = "…",
  ready = "✓",
  indexing = "⟳",
  busy = "⟳",
  unreachable = "✗",
  error = "!",
  stopped = "✗",
}

--- Handler for the `hermes/status` notification.
function M.handler(_, params)
  if type(params) == "table" and type(params.state) == "string" then
    M.state = params.state
    M.message = type(params.message) == "string" and params.message or ""
    vim.schedule(function()
      vim.api.nvim_exec_autocmds("User", { pattern = "HermesStatus", modeline = false })
    end)
  end
end

--- Commands we started and that have not finished show as busy.
function M.local_busy(delta)
  running = math.max(0, running + delta)
end

--- A short string for a statusline, e.g. `Hermes ✓` or `Hermes ✗ model unreachable`.
function M.statusline()
  local state = (running > 0 and (M.state == "ready" or M.state == "indexing")) and "busy" or M.state
  local text = "Hermes " .. (ICONS[state] or "?")
  if state == "unreachable" then
    text = text .. " model unreachable"
  elseif state == "indexing" then
    text = text .. " indexing"
  end
  return text
end

return M
