--- hermes-lsp for Neovim 0.10+: require("hermes_lsp").setup{}.
---
--- Starts `hermes-lsp --stdio` through vim.lsp.config/vim.lsp.enable (0.11+) or a FileType
--- autocommand with vim.lsp.start (0.10), shows inline completions as ghost text
--- (vim.lsp.inline_completion on 0.12+, this plugin's extmarks before that), and adds
--- :HermesRefactor, :HermesDebug, :HermesStatus and :checkhealth hermes_lsp.
local config = require("hermes_lsp.config")
local status = require("hermes_lsp.status")
local util = require("hermes_lsp.util")

local M = {}

M.statusline = status.statusline

--- The client configuration handed to vim.lsp.config / vim.lsp.start.
function M.lsp_config(cmd)
  local opts = config.options
  local settings = next(opts.settings) and opts.settings or vim.empty_dict()
  return {
    cmd = cmd,
    filetypes = opts.filetypes,
    root_markers = opts.root_markers,
    init_options = settings,
    -- The server asks for the "hermes" section with workspace/configuration.
    settings = { hermes = settings },
    -- 0.10/0.11 do not announce inline completion; this plugin handles it for them.
    capabilities = { textDocument = { inlineCompletion = { dynamicRegistration = false } } },
    handlers = { ["hermes/status"] = status.handler },
  }
end

local function native_inline_completion(bufnr, client)
  local ic = vim.lsp.inline_completion
  ic.enable(true, { bufnr = bufnr, client_id = client.id })
  local ghost = require("hermes_lsp.ghost")
  local keys = config.options.keymaps
  ghost.map(bufnr, keys.accept, "accept the suggestion", function()
    return ic.get({ bufnr = bufnr }) == true
  end)
  ghost.map(bufnr, keys.next, "next suggestion", function()
    ic.select({ bufnr = bufnr, count = 1 })
    return true
  end)
  ghost.map(bufnr, keys.prev, "previous suggestion", function()
    ic.select({ bufnr = bufnr, count = -1 })
    return true
  end)
end

local function on_attach(bufnr, client)
  require("hermes_lsp.diagnostics").wrap_code_action(client)
  if not config.options.ghost_text.enabled then
    return
  end
  if util.paths().native_ghost then
    native_inline_completion(bufnr, client)
  else
    require("hermes_lsp.ghost").attach(bufnr)
  end
end

local function start_on_filetype(lsp_config)
  -- Neovim 0.10: no vim.lsp.enable, so start (or reuse) the client per buffer.
  vim.api.nvim_create_autocmd("FileType", {
    group = vim.api.nvim_create_augroup("hermes_lsp_start", { clear = true }),
    callback = function(ev)
      local filetypes = config.options.filetypes
      if vim.bo[ev.buf].buftype ~= "" or (filetypes and not vim.tbl_contains(filetypes, ev.match)) then
        return
      end
      local root = vim.fs.root(ev.buf, config.options.root_markers) or vim.fn.getcwd()
      vim.lsp.start(vim.tbl_extend("force", lsp_config, { name = util.NAME, root_dir = root }), { bufnr = ev.buf })
    end,
  })
end

local function user_commands()
  local commands = require("hermes_lsp.commands")
  vim.api.nvim_create_user_command("HermesRefactor", commands.refactor, {
    range = true,
    nargs = "*",
    desc = "Hermes: refactor the selected lines as instructed",
  })
  vim.api.nvim_create_user_command("HermesDebug", commands.debug, {
    range = true,
    desc = "Hermes: diagnose the stack trace on the clipboard (or in the selected lines)",
  })
  vim.api.nvim_create_user_command("HermesFix", function()
    -- The diagnostics of every source on the line go along (see diagnostics.lua).
    vim.lsp.buf.code_action({
      context = { only = { "quickfix.hermes.fix" } },
      apply = true,
      filter = function(action)
        return action.kind == "quickfix.hermes.fix"
      end,
    })
  end, { desc = "Hermes: fix the diagnostic under the cursor, whatever reported it" })
  local scopes = { "buffer", "filetype", "global" }
  for name, on in pairs({ HermesToggle = vim.NIL, HermesEnable = true, HermesDisable = false }) do
    vim.api.nvim_create_user_command(name, function(cmd)
      local scope = cmd.args ~= "" and cmd.args or "global"
      if not vim.tbl_contains(scopes, scope) then
        util.notify(("%s takes buffer, filetype or global, not %q"):format(name, scope), vim.log.levels.ERROR)
        return
      end
      local value = nil ---@type boolean|nil  nil: flip
      if on ~= vim.NIL then
        value = on
      end
      local _, said = require("hermes_lsp.toggle").set(scope, vim.api.nvim_get_current_buf(), value)
      util.notify(said)
    end, {
      nargs = "?",
      complete = function()
        return scopes
      end,
      desc = "Hermes: suggestions on/off [buffer|filetype|global] (default global)",
    })
  end
  vim.api.nvim_create_user_command("HermesWhy", function()
    local bufnr = vim.api.nvim_get_current_buf()
    if not require("hermes_lsp.toggle").enabled(bufnr) then
      util.notify("suggestions are switched off here (:HermesEnable buffer, filetype or global)")
      return
    end
    local client = util.client(bufnr)
    if not client then
      util.notify("hermes-lsp is not attached to this buffer", vim.log.levels.WARN)
      return
    end
    local args = { command = "hermes.whyNoSuggestion", arguments = { { uri = vim.uri_from_bufnr(bufnr) } } }
    util.request(client, "workspace/executeCommand", args, function(err, result)
      util.notify(err and (err.message or vim.inspect(err)) or result.message)
    end, bufnr)
  end, { desc = "Hermes: why was no suggestion shown?" })
  vim.api.nvim_create_user_command("HermesLog", function()
    vim.cmd.split(vim.fn.fnameescape(config.log_file() or vim.lsp.get_log_path()))
    vim.bo.autoread = true
    vim.cmd.normal({ "G", bang = true })
  end, { desc = "Hermes: open the server's log" })
  vim.api.nvim_create_user_command("HermesStatus", function()
    util.notify(("%s%s"):format(status.statusline(), status.message ~= "" and (": " .. status.message) or ""))
  end, { desc = "Hermes: show the model server's state" })
end

--- Ghost text must look unlike code in every terminal: Comment's colour where it has one,
--- a grey from the 256-colour palette where it has none (no 'termguicolors', e.g. in tmux).
--- `default`: a colour scheme or the user's own HermesGhostText wins.
function M.define_highlight()
  local comment = vim.api.nvim_get_hl(0, { name = "Comment", link = false })
  vim.api.nvim_set_hl(0, "HermesGhostText", {
    default = true,
    fg = comment.fg or 0x808080,
    ctermfg = comment.ctermfg or 244,
    italic = comment.italic,
  })
end

---@param opts hermes_lsp.Options|nil
function M.setup(opts)
  config.options = vim.tbl_deep_extend("force", vim.deepcopy(config.defaults), opts or {})
  M.define_highlight()
  vim.api.nvim_create_autocmd("ColorScheme", {
    group = vim.api.nvim_create_augroup("hermes_lsp_highlight", { clear = true }),
    callback = M.define_highlight,
  })
  user_commands()
  local cmd, problem = config.server_cmd()
  if not cmd then
    status.state, status.message = "stopped", problem
    util.notify(problem .. ": " .. config.install_hint, vim.log.levels.WARN)
    return
  end
  vim.api.nvim_create_autocmd("LspAttach", {
    group = vim.api.nvim_create_augroup("hermes_lsp_attach", { clear = true }),
    callback = function(ev)
      local client = vim.lsp.get_client_by_id(ev.data.client_id)
      if client and client.name == util.NAME then
        on_attach(ev.buf, client)
      end
    end,
  })
  vim.api.nvim_create_autocmd("LspProgress", {
    group = vim.api.nvim_create_augroup("hermes_lsp_progress", { clear = true }),
    callback = function(ev)
      local client = vim.lsp.get_client_by_id(ev.data.client_id)
      if client and client.name == util.NAME then
        status.on_progress(ev.data.params and ev.data.params.value)
      end
    end,
  })
  local lsp_config = M.lsp_config(cmd)
  if util.paths().lsp_enable then
    vim.lsp.config(util.NAME, lsp_config)
    vim.lsp.enable(util.NAME)
  else
    start_on_filetype(lsp_config)
  end
end

return M
