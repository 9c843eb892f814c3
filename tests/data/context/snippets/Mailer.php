<?php

namespace App\Mail;

use App\Support\Template;

class Mailer
{
    public function send(string $to, string $body): bool
    {
        $html = Template::render($body);
        return deliver($to, $html);
    }
}

function deliver(string $to, string $html): bool
{
    return mail($to, "Hello", $html);
}
